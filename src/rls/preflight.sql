-- What the lints need to mean anything: Supabase's API roles, and the schemas PostgREST exposes.
-- Without them every exposure check would find nothing: a silent all-clear (supabase/cli#5868).
select
  (select count(*) from pg_roles where rolname in ('anon', 'authenticated', 'service_role'))::int as api_roles,
  coalesce(
      nullif(current_setting('pgrst.db_schemas', true), ''),
      -- Where Supabase's PostgREST reads it: the authenticator role's setting.
      (select substr(c, length('pgrst.db_schemas=') + 1)
       from pg_db_role_setting s cross join unnest(s.setconfig) c
       where s.setrole = (select oid from pg_roles where rolname = 'authenticator')
         and s.setdatabase in (0, (select oid from pg_database where datname = current_database()))
         and c like 'pgrst.db\_schemas=%'
       order by s.setdatabase desc limit 1),
      '') as exposed_schemas
