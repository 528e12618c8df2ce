-- Slipway's RLS lints (written for Slipway from Supabase's documented rules; the names match
-- Supabase's advisors so findings can be cross-checked in Studio). One row per finding:
-- rule, level (error | warn | info), object, detail, fix. Run after preflight.sql passed.
with exposed as (
  select trim(s) as schema from unnest(string_to_array(EXPOSED_SCHEMAS, ',')) s
),
tables as (
  select c.oid, n.nspname as schema, c.relname as name, c.relrowsecurity as rls,
         format('%I.%I', n.nspname, c.relname) as object
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where c.relkind in ('r', 'p')
    and n.nspname in (select schema from exposed)
    and not exists (select 1 from pg_depend d where d.objid = c.oid and d.deptype = 'e')
),
policies as (
  select p.schemaname as schema, p.tablename as name, p.policyname, p.cmd, p.roles, p.permissive,
         coalesce(p.qual, '') as qual, coalesce(p.with_check, '') as with_check,
         format('%I.%I policy %I', p.schemaname, p.tablename, p.policyname) as object
  from pg_policies p
  where p.schemaname not in ('pg_catalog', 'information_schema', 'auth', 'storage', 'realtime', 'extensions', 'vault', 'graphql', 'graphql_public', 'pgbouncer', 'net', 'supabase_functions', 'cron')
)
select * from (
select 'rls_disabled_in_public' as rule, 'error' as level, t.object,
       'RLS is off on a table the API exposes: anyone with the anon key reads it' as detail,
       format('alter table %s enable row level security; then add policies (or a Slipway template)', t.object) as fix
from tables t
where not t.rls
  and (has_table_privilege('anon', t.oid, 'select') or has_table_privilege('authenticated', t.oid, 'select'))
union all
select 'policy_exists_rls_disabled', 'error', t.object,
       'the table has policies but RLS is off, so none of them applies',
       format('alter table %s enable row level security', t.object)
from tables t
where not t.rls and exists (select 1 from pg_policy p where p.polrelid = t.oid)
union all
select 'rls_enabled_no_policy', 'info', t.object,
       'RLS is on and no policy exists: only the service role reaches its rows',
       'add policies if users should reach it, or leave it (Slipway''s private template does this on purpose)'
from tables t
where t.rls and not exists (select 1 from pg_policy p where p.polrelid = t.oid)
union all
select 'auth_rls_initplan', 'warn', p.object,
       'the policy calls auth.uid(), auth.jwt(), auth.role() or auth.email() unwrapped, once per row',
       'write (select auth.uid()) instead of auth.uid(): evaluated once per statement'
from policies p
where (select count(*) from regexp_matches(p.qual || ' ' || p.with_check, 'auth\.(uid|jwt|role|email)\(\)', 'g'))
    > (select count(*) from regexp_matches(p.qual || ' ' || p.with_check, 'SELECT auth\.(uid|jwt|role|email)\(\)', 'gi'))
union all
select 'rls_references_user_metadata', 'error', p.object,
       'the policy reads user_metadata, which every user can edit for themselves',
       'base it on app_metadata (raw_app_meta_data), which only the server writes'
from policies p
where (p.qual || ' ' || p.with_check) ilike '%user_metadata%'
union all
select 'rls_policy_always_true', 'warn', p.object,
       format('a permissive %s policy for %s that is always true: anyone it names may write any row', p.cmd, array_to_string(p.roles, ', ')),
       'compare the row with (select auth.uid()), or drop the policy'
from policies p
where p.permissive = 'PERMISSIVE' and p.cmd in ('INSERT', 'UPDATE', 'DELETE', 'ALL')
  and (p.roles && array['anon', 'authenticated', 'public']::name[])
  and (trim(p.qual) = 'true' or trim(p.with_check) = 'true')
union all
select 'function_search_path_mutable', 'warn', format('%I.%I()', n.nspname, f.proname),
       'a SECURITY DEFINER function without a fixed search_path: a caller''s objects can shadow what it uses',
       format('alter function %I.%I set search_path = ''''', n.nspname, f.proname)
from pg_proc f join pg_namespace n on n.oid = f.pronamespace
where f.prosecdef
  and n.nspname not in ('pg_catalog', 'information_schema', 'auth', 'storage', 'realtime', 'extensions', 'vault', 'graphql', 'graphql_public', 'pgbouncer', 'net', 'supabase_functions', 'cron', 'pgsodium')
  and not exists (select 1 from pg_depend d where d.objid = f.oid and d.deptype = 'e')
  and not exists (select 1 from unnest(coalesce(f.proconfig, '{}')) c where c like 'search_path=%')
union all
select distinct 'auth_users_exposed', 'error', format('%I.%I', n.nspname, v.relname),
       'a view the API exposes reads auth.users: every user''s email and metadata',
       format('drop the view, or move it out of the exposed schemas and revoke it from anon and authenticated')
from pg_class v
join pg_namespace n on n.oid = v.relnamespace
join pg_rewrite r on r.ev_class = v.oid
join pg_depend d on d.objid = r.oid and d.deptype = 'n'
where v.relkind in ('v', 'm')
  and n.nspname in (select schema from exposed)
  and d.refobjid = 'auth.users'::regclass
  and (has_table_privilege('anon', v.oid, 'select') or has_table_privilege('authenticated', v.oid, 'select'))
) findings
order by case level when 'error' then 0 when 'warn' then 1 else 2 end, rule, object
