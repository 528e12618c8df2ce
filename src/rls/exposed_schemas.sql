-- The schemas PostgREST exposes, as a comma-separated text: the database's setting, else the
-- authenticator role's (where Supabase's PostgREST reads it), else ''. Spliced into the
-- preflight and the lints where they say EXPOSED_SCHEMAS.
coalesce(
  nullif(current_setting('pgrst.db_schemas', true), ''),
  -- Where Supabase's PostgREST reads it: the authenticator role's setting.
  (select substr(c, length('pgrst.db_schemas=') + 1)
   from pg_db_role_setting s cross join unnest(s.setconfig) c
   where s.setrole = (select oid from pg_roles where rolname = 'authenticator')
     and s.setdatabase in (0, (select oid from pg_database where datname = current_database()))
     and c like 'pgrst.db\_schemas=%'
   order by s.setdatabase desc limit 1),
  '')
