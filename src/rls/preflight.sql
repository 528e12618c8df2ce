-- What the lints need to mean anything: Supabase's API roles, and the schemas PostgREST exposes.
-- Without them every exposure check would find nothing: a silent all-clear (supabase/cli#5868).
select
  (select count(*) from pg_roles where rolname in ('anon', 'authenticated', 'service_role'))::int as api_roles,
  EXPOSED_SCHEMAS as exposed_schemas
