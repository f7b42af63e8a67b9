-- =============================================================================================
-- EMBEDDING ENGINE: doctor, the seed's failure modes found before they bite
-- =============================================================================================
-- One function that checks the database for what went wrong in the seed project, or would go wrong
-- next: tables open to the API without row-level security, client roles able to write a vector
-- column (or silently filtered when they try), SECURITY DEFINER functions without a fixed
-- search_path or callable by clients, engine internals executable by clients, pgvector in public,
-- a schedule without its prerequisites, a Vault key that is not a service credential, an embed
-- function that still accepts legacy keys, failing dispatches, a time budget over the
-- platform's limit, targets whose table, column or content function changed under them, and chunk
-- tables open to clients or out of step with their rows.
-- Every finding comes with the SQL or the step that fixes it. `deno task cli doctor` calls it (and
-- adds the one check only the caller can make: the provider's model); so can the SQL editor.
--
-- Each check is its own function, embeddings._doctor_<check>(), answering rows of
-- embeddings._doctor_finding; doctor() runs them in order, each in one shared exception block, so
-- a check that cannot run becomes an error row and the others still report. A new check is a
-- function of that name and an entry in doctor()'s list.

-- =============================================================================================
-- Shared by the checks
-- =============================================================================================

create type embeddings._doctor_finding as (level text, check_name text, subject text, finding text, fix text);
comment on type embeddings._doctor_finding is
  'One row of embeddings.doctor(): level ok, warning or error; the check; what it is about (null on an ok row); what was found; the SQL or step that fixes it (null on an ok row).';

/**
 * A check's answer: its findings in the order found, then an ok row (saying what was checked) for
 * each of its check names that found nothing. Checks that come in pairs share one pass over the
 * catalog, so one call reports both names.
 */
create or replace function embeddings._doctor_report(
  findings embeddings._doctor_finding[],
  check_names text[],
  ok_findings text[]
)
returns setof embeddings._doctor_finding
language sql immutable set search_path = ''
as $$
  select r.level, r.check_name, r.subject, r.finding, r.fix
  from (
    select f.level, f.check_name, f.subject, f.finding, f.fix, 0 as part, f.ord
    from pg_catalog.unnest(findings) with ordinality as f(level, check_name, subject, finding, fix, ord)
    union all
    select 'ok', c.check_name, null, c.ok_finding, null, 1, c.ord
    from rows from (pg_catalog.unnest(check_names), pg_catalog.unnest(ok_findings)) with ordinality as c(check_name, ok_finding, ord)
    where not exists (select 1 from pg_catalog.unnest(findings) as f where f.check_name = c.check_name)
  ) as r
  order by r.part, r.ord
$$;
comment on function embeddings._doctor_report(embeddings._doctor_finding[], text[], text[]) is
  'A doctor check''s rows: its findings in order, then an ok row for each of check_names (with the matching ok_findings text) that has no finding.';

/** The API roles a browser or app holds (those that exist here); service_role is trusted. */
create or replace function embeddings._doctor_client_roles()
returns text[]
language sql stable set search_path = ''
as $$
  select array(
    select r.role_name from pg_catalog.unnest(array['anon', 'authenticated']) with ordinality as r(role_name, ord)
    where pg_catalog.to_regrole(r.role_name) is not null
    order by r.ord)
$$;
comment on function embeddings._doctor_client_roles() is
  'The client roles doctor checks (anon, authenticated), those of them that exist.';

/** The engine's functions clients are meant to call: public.search_embeddings and its plan. */
create or replace function embeddings._engine_client_api()
returns regprocedure[]
language sql stable set search_path = ''
as $$
  -- By signature, looked up when doctor runs: the search's migration comes after this one.
  select array(
    select pg_catalog.to_regprocedure(f.signature)
    from pg_catalog.unnest(array[
      'public.search_embeddings(text, text, extensions.vector, text, integer, jsonb, double precision, double precision, double precision, integer, text)',
      'embedding_search.plan_search(text, text, extensions.vector, text, integer, jsonb, double precision, double precision, double precision, integer, text)'
    ]) as f(signature)
    where pg_catalog.to_regprocedure(f.signature) is not null)
$$;
comment on function embeddings._engine_client_api() is
  'The engine''s public API for clients: public.search_embeddings and embedding_search.plan_search (a SECURITY DEFINER that checks its caller), those that exist. Every other engine function must be closed to anon, authenticated and PUBLIC (engine_client_executable), and these are not definer_client_executable findings.';

/** The dispatch settings row, or null: a check of the settings reports their absence itself. */
create or replace function embeddings._doctor_settings()
returns embeddings.dispatch_settings
language plpgsql stable set search_path = ''
as $$
declare
  settings embeddings.dispatch_settings;
begin
  select * into settings from embeddings.dispatch_settings as s limit 1;
  return settings;
exception when others then
  return null;
end;
$$;
comment on function embeddings._doctor_settings() is
  'The row of embeddings.dispatch_settings the schedule, key and time budget checks read; null when there is none or it cannot be read.';

-- =============================================================================================
-- rls_disabled: a table in a schema the API exposes, without row-level security
-- =============================================================================================

/**
 * PostgREST's exposed schemas: the setting when the database has it, else the in-database
 * configuration of the authenticator role, else Supabase's default; the engine's own schema is
 * included (its tables must stay closed even if someone exposes it).
 */
create or replace function embeddings._doctor_exposed_schemas()
returns text[]
language sql stable set search_path = ''
as $$
  select array(
    select distinct pg_catalog.btrim(schema_name.value, ' "')
    from pg_catalog.unnest(pg_catalog.string_to_array(coalesce(
        nullif(pg_catalog.current_setting('pgrst.db_schemas', true), ''),
        (select pg_catalog.substr(c.setting, pg_catalog.length('pgrst.db_schemas=') + 1)
           from pg_catalog.pg_db_role_setting as s
           cross join lateral pg_catalog.unnest(s.setconfig) as c(setting)
           where s.setrole = pg_catalog.to_regrole('authenticator')
             and c.setting like 'pgrst.db\_schemas=%'
           limit 1),
        'public'), ',') || array['embeddings'])
      as schema_name(value)
    where pg_catalog.btrim(schema_name.value, ' "') <> ''
    order by 1)
$$;
comment on function embeddings._doctor_exposed_schemas() is
  'The schemas the API exposes (pgrst.db_schemas, the authenticator role''s setting of it, or public) and embeddings: those rls_disabled checks.';

create or replace function embeddings._doctor_rls_disabled()
returns setof embeddings._doctor_finding
language sql stable set search_path = ''
as $$
  select r.*
  from (select embeddings._doctor_exposed_schemas() as exposed) as s
  cross join lateral embeddings._doctor_report(
    array(
      select row('error', 'rls_disabled', format('%I.%I', n.nspname, c.relname),
        format(
          'table %I.%I is in a schema the API exposes (%s) and has row-level security off: anyone with the anon key can read and write whatever its grants allow',
          n.nspname, c.relname, pg_catalog.array_to_string(s.exposed, ', ')),
        format(
          'alter table %I.%I enable row level security; -- then add a policy for each thing clients may do (none: only service_role reaches it)',
          n.nspname, c.relname))::embeddings._doctor_finding
      from pg_catalog.pg_class as c
      join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p') and not c.relrowsecurity and n.nspname = any (s.exposed)
      order by n.nspname, c.relname),
    array['rls_disabled'],
    array[format('every table in the exposed schemas (%s) has row-level security on',
      pg_catalog.array_to_string(s.exposed, ', '))]) as r
$$;
comment on function embeddings._doctor_rls_disabled() is
  'doctor''s rls_disabled: each table in an exposed schema with row-level security off.';

-- =============================================================================================
-- client_can_write_vector / client_write_silently_filtered: may anon or authenticated write a
-- target's vector column? With RLS off or a permissive policy letting them, they can (an error).
-- With the privilege but no policy, RLS filters their write to 0 rows without an error (the
-- seed's "20/20 succeeded" with nothing stored): the fix is to revoke the privilege so the write
-- fails loudly with permission denied.
-- =============================================================================================

/** Permissive policies for a write command that apply to the role (directly, through a role it belongs to, or to PUBLIC). */
create or replace function embeddings._doctor_write_policies(table_oid oid, client_role text, command text)
returns text
language sql stable set search_path = ''
as $$
  select pg_catalog.string_agg(format('%I', p.polname), ', ' order by p.polname)
  from pg_catalog.pg_policy as p
  where p.polrelid = table_oid and p.polpermissive
    and p.polcmd in (case command when 'INSERT' then 'a' else 'w' end, '*')
    and (0::oid = any (p.polroles)
         or exists (select 1 from pg_catalog.unnest(p.polroles) as policy_role(role_oid)
                    where pg_catalog.pg_has_role(client_role, policy_role.role_oid, 'member')))
$$;
comment on function embeddings._doctor_write_policies(oid, text, text) is
  'The names of the permissive policies on a table that let a role run an INSERT or UPDATE, or null.';

/**
 * The SQL that takes a write command on a target's vector column from a client role. A table-wide
 * grant is not taken away by a column revoke: revoke it and grant back the other columns. A grant
 * to PUBLIC must be revoked from PUBLIC.
 */
create or replace function embeddings._doctor_vector_write_fix(
  registered embeddings.targets, table_oid oid, column_number smallint, client_role text, command text
)
returns text
language sql stable set search_path = ''
as $$
  select case
    when not pg_catalog.has_table_privilege(client_role, table_oid, command) then
      format('revoke %s (%I) on %I.%I from %s;', pg_catalog.lower(command),
        registered.embedding_column, registered.table_schema, registered.table_name, g.grantees)
    when g.other_columns is null then
      format('revoke %s on %I.%I from %s;', pg_catalog.lower(command),
        registered.table_schema, registered.table_name, g.grantees)
    else
      format('revoke %s on %I.%I from %s; grant %s (%s) on %I.%I to %I;', pg_catalog.lower(command),
        registered.table_schema, registered.table_name, g.grantees, pg_catalog.lower(command),
        g.other_columns, registered.table_schema, registered.table_name, client_role)
  end
  from (
    select
      case when pg_catalog.has_column_privilege('public', table_oid, column_number, command)
           then format('public, %I', client_role) else format('%I', client_role) end as grantees,
      -- The columns clients may keep writing once the vector is taken from them.
      (select pg_catalog.string_agg(format('%I', a.attname), ', ' order by a.attnum)
         from pg_catalog.pg_attribute as a
         where a.attrelid = table_oid and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
           and a.attname <> registered.embedding_column) as other_columns
  ) as g
$$;
comment on function embeddings._doctor_vector_write_fix(embeddings.targets, oid, smallint, text, text) is
  'The revoke (and grant back of the other columns) that takes INSERT or UPDATE on a target''s vector column from a client role.';

/**
 * One client role on one target's vector column: an error naming the commands it can write (RLS
 * off, or a policy lets it), a warning naming those row-level security silently filters.
 */
create or replace function embeddings._doctor_vector_writes(
  registered embeddings.targets, table_oid oid, column_number smallint, rls_on boolean, client_role text
)
returns embeddings._doctor_finding[]
language plpgsql stable set search_path = ''
as $$
declare
  subject constant text := format('%I.%I.%I', registered.table_schema, registered.table_name, registered.embedding_column);
  command text;
  policy_names text;
  writable_commands text[] := array[]::text[];
  writable_reasons text[] := array[]::text[];
  writable_fixes text[] := array[]::text[];
  filtered_commands text[] := array[]::text[];
  filtered_fixes text[] := array[]::text[];
  findings embeddings._doctor_finding[] := array[]::embeddings._doctor_finding[];
begin
  foreach command in array array['INSERT', 'UPDATE'] loop
    continue when not pg_catalog.has_column_privilege(client_role, table_oid, column_number, command);
    policy_names := embeddings._doctor_write_policies(table_oid, client_role, command);
    if not rls_on or policy_names is not null then
      writable_commands := writable_commands || command;
      writable_reasons := writable_reasons || case when not rls_on
        then format('%s: row-level security is off', command)
        else format('%s: policy %s lets it', command, policy_names) end;
      writable_fixes := writable_fixes
        || embeddings._doctor_vector_write_fix(registered, table_oid, column_number, client_role, command);
    else
      filtered_commands := filtered_commands || command;
      filtered_fixes := filtered_fixes
        || embeddings._doctor_vector_write_fix(registered, table_oid, column_number, client_role, command);
    end if;
  end loop;
  if pg_catalog.cardinality(writable_commands) > 0 then
    findings := findings || row('error', 'client_can_write_vector', subject,
      format('role %s can %s the vector column of target %s (%s): a client can store any vector it likes',
        client_role, pg_catalog.array_to_string(writable_commands, ' and '), registered.name,
        pg_catalog.array_to_string(writable_reasons, '; ')),
      pg_catalog.array_to_string(writable_fixes, ' ')
        || ' -- vectors are written only by the worker, through embeddings.write_batch')::embeddings._doctor_finding;
  end if;
  if pg_catalog.cardinality(filtered_commands) > 0 then
    findings := findings || row('warning', 'client_write_silently_filtered', subject,
      format('role %s has the %s privilege on the vector column of target %s but no policy lets it write: row-level security filters its writes to 0 rows without an error (a silent 200 from the API, as in the seed)',
        client_role, pg_catalog.array_to_string(filtered_commands, ' and '), registered.name),
      pg_catalog.array_to_string(filtered_fixes, ' ')
        || ' -- so a client''s write fails loudly with permission denied')::embeddings._doctor_finding;
  end if;
  return findings;
end;
$$;
comment on function embeddings._doctor_vector_writes(embeddings.targets, oid, smallint, boolean, text) is
  'The client_can_write_vector and client_write_silently_filtered findings of one client role on one target''s vector column.';

create or replace function embeddings._doctor_client_can_write_vector()
returns setof embeddings._doctor_finding
language plpgsql stable set search_path = ''
as $$
declare
  registered embeddings.targets;
  table_oid oid;
  column_number smallint;
  rls_on boolean;
  client_role text;
  findings embeddings._doctor_finding[] := array[]::embeddings._doctor_finding[];
begin
  -- A chunked target's rows hold no vector: its chunk table is chunk_tables' to check.
  for registered in select * from embeddings.targets as t where t.chunking is null order by t.id loop
    table_oid := pg_catalog.to_regclass(format('%I.%I', registered.table_schema, registered.table_name));
    continue when table_oid is null;  -- target_broken reports it
    select a.attnum, c.relrowsecurity into column_number, rls_on
      from pg_catalog.pg_attribute as a
      join pg_catalog.pg_class as c on c.oid = a.attrelid
      where a.attrelid = table_oid and a.attname = registered.embedding_column
        and a.attnum > 0 and not a.attisdropped;
    continue when column_number is null;  -- target_broken reports it
    foreach client_role in array embeddings._doctor_client_roles() loop
      findings := findings
        || embeddings._doctor_vector_writes(registered, table_oid, column_number, rls_on, client_role);
    end loop;
  end loop;
  return query select * from embeddings._doctor_report(findings,
    array['client_can_write_vector', 'client_write_silently_filtered'],
    array['no client role (anon, authenticated) can insert or update the vector column of any registered target',
          'no client role holds a write privilege on a vector column that row-level security would silently filter']);
end;
$$;
comment on function embeddings._doctor_client_can_write_vector() is
  'doctor''s client_can_write_vector and client_write_silently_filtered, for every registered target and client role.';

-- =============================================================================================
-- definer_search_path / definer_client_executable: the project's SECURITY DEFINER functions
-- must fix their search_path (or a caller's objects can stand in for the ones they use) and must
-- not be callable by client roles. Functions of extensions, of Supabase's own schemas and of the
-- system are not the project's to change.
-- =============================================================================================

/** The project's SECURITY DEFINER functions, with what the two definer checks look at. */
create or replace function embeddings._doctor_definer_functions()
returns table (signature text, no_search_path boolean, callers text[], trigger_function boolean)
language sql stable set search_path = ''
as $$
  select p.oid::regprocedure::text,
         not exists (select 1 from pg_catalog.unnest(p.proconfig) as setting(value)
                     where setting.value like 'search\_path=%'),
         array(select r.role_name from pg_catalog.unnest(clients.roles) as r(role_name)
               where pg_catalog.has_function_privilege(r.role_name, p.oid, 'execute')
                 and pg_catalog.has_schema_privilege(r.role_name, p.pronamespace, 'usage')),
         p.prorettype in ('pg_catalog.trigger'::regtype, 'pg_catalog.event_trigger'::regtype)
  from pg_catalog.pg_proc as p
  join pg_catalog.pg_namespace as n on n.oid = p.pronamespace
  cross join (select embeddings._doctor_client_roles() as roles) as clients
  where p.prosecdef
    -- Supabase's own schemas and the system's.
    and n.nspname <> all (array[
      'pg_catalog', 'information_schema', 'auth', 'storage', 'realtime', 'vault', 'graphql',
      'graphql_public', 'net', 'cron', 'pgsodium', 'pgsodium_masks', 'supabase_functions',
      'extensions', 'pgbouncer', 'tests'])
    and n.nspname !~ '^pg_'
    and not exists (
      select 1 from pg_catalog.pg_depend as d
      where d.classid = 'pg_catalog.pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
    -- The search's plan is a definer clients call on purpose; it checks its caller itself.
    and p.oid <> all (embeddings._engine_client_api()::oid[])
  order by 1
$$;
comment on function embeddings._doctor_definer_functions() is
  'SECURITY DEFINER functions outside Supabase''s schemas, the system''s and extensions (and the engine''s client API, embeddings._engine_client_api): whether each lacks a search_path, which client roles can call it, and whether it is a trigger function.';

create or replace function embeddings._doctor_definer_search_path()
returns setof embeddings._doctor_finding
language sql stable set search_path = ''
as $$
  select r.* from embeddings._doctor_report(
    array(
      with definer as (select * from embeddings._doctor_definer_functions())
      select x.finding from (
        select f.signature, 1 as kind, row('error', 'definer_search_path', f.signature,
          format('SECURITY DEFINER function %s runs with its owner''s rights but takes the caller''s search_path: a caller who can create objects earlier on the path can make it use theirs',
            f.signature),
          format('alter function %s set search_path = ''''; -- then schema-qualify every name its body uses',
            f.signature))::embeddings._doctor_finding as finding
        from definer as f
        where f.no_search_path
        union all
        select f.signature, 2, row('error', 'definer_client_executable', f.signature,
          format('SECURITY DEFINER function %s can be called by %s (EXECUTE on it and USAGE on its schema): it runs with its owner''s rights for any client',
            f.signature, pg_catalog.array_to_string(f.callers, ' and ')),
          format('revoke execute on function %s from public, anon, authenticated; -- grant it to service_role, or only to the role that needs it, and make it check its caller',
            f.signature))::embeddings._doctor_finding
        from definer as f
        -- A trigger function cannot be called directly, so EXECUTE on it opens nothing.
        where pg_catalog.cardinality(f.callers) > 0 and not f.trigger_function
      ) as x
      order by x.signature, x.kind),
    array['definer_search_path', 'definer_client_executable'],
    array['every SECURITY DEFINER function outside Supabase''s schemas and extensions sets its search_path',
          'no SECURITY DEFINER function outside Supabase''s schemas and extensions can be called by anon or authenticated']) as r
$$;
comment on function embeddings._doctor_definer_search_path() is
  'doctor''s definer_search_path and definer_client_executable: the project''s SECURITY DEFINER functions without a fixed search_path, or callable by anon or authenticated.';

-- =============================================================================================
-- engine_client_executable: in the engine's schemas, clients may execute the public API and
-- nothing else. A function granted to a client role by hand after the privileges migration (the
-- engine schemas keep PUBLIC out of new ones by an event trigger): this finds it.
-- =============================================================================================
create or replace function embeddings._doctor_engine_client_executable()
returns setof embeddings._doctor_finding
language sql stable set search_path = ''
as $$
  select r.* from embeddings._doctor_report(
    array(
      select row('error', 'engine_client_executable', x.signature,
        format('%s is executable by %s; in the engine''s schemas only its public API (%s) may be: clients could call an internal step directly',
          x.signature, pg_catalog.array_to_string(x.callers, ' and '),
          (select pg_catalog.string_agg(a.f::text, ', ') from pg_catalog.unnest(embeddings._engine_client_api()) as a(f))),
        format('revoke execute on function %s from public, anon, authenticated;', x.signature))::embeddings._doctor_finding
      from (
        select p.oid::regprocedure::text as signature,
               array(
                 select r.role_name from pg_catalog.unnest(array['PUBLIC'] || embeddings._doctor_client_roles()) as r(role_name)
                 where case when r.role_name = 'PUBLIC'
                         then exists (select 1 from pg_catalog.aclexplode(coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner))) as acl
                                      where acl.grantee = 0 and acl.privilege_type = 'EXECUTE')
                         else pg_catalog.has_function_privilege(r.role_name, p.oid, 'execute') end) as callers
        from pg_catalog.pg_proc as p
        where p.pronamespace in (select n.oid from pg_catalog.pg_namespace as n where n.nspname in ('embeddings', 'embedding_search'))
          and p.oid <> all (embeddings._engine_client_api()::oid[])
      ) as x
      where pg_catalog.cardinality(x.callers) > 0
      order by x.signature),
    array['engine_client_executable'],
    array['in the embeddings and embedding_search schemas no function but the search''s (public.search_embeddings, embedding_search.plan_search) is executable by anon, authenticated or PUBLIC']) as r
$$;
comment on function embeddings._doctor_engine_client_executable() is
  'doctor''s engine_client_executable: functions of the embeddings and embedding_search schemas, other than the engine''s client API, that anon, authenticated or PUBLIC may execute.';

-- =============================================================================================
-- vector_in_public: pgvector's objects in public clutter the API's schema (Supabase's advisor
-- flags extensions in public)
-- =============================================================================================
create or replace function embeddings._doctor_vector_in_public()
returns setof embeddings._doctor_finding
language sql stable set search_path = ''
as $$
  select r.*
  from (select (select n.nspname from pg_catalog.pg_extension as e
                join pg_catalog.pg_namespace as n on n.oid = e.extnamespace
                where e.extname = 'vector') as vector_schema) as v
  cross join lateral embeddings._doctor_report(
    case when v.vector_schema = 'public' then array[row('warning', 'vector_in_public', 'extension vector',
      'the vector extension is installed in schema public: its types, functions and operators sit in the schema the API exposes',
      'create schema if not exists extensions; alter extension vector set schema extensions; -- columns keep their type; SQL that names public.vector must say extensions.vector'
    )::embeddings._doctor_finding] end,
    array['vector_in_public'],
    array[case when v.vector_schema is null
      then 'the vector extension is not installed, so it is not in public'
      else format('the vector extension is installed in schema %I, not public', v.vector_schema) end]) as r
$$;
comment on function embeddings._doctor_vector_in_public() is
  'doctor''s vector_in_public: a warning when pgvector is installed in schema public.';

-- =============================================================================================
-- schedule_prerequisites: with the schedule on, pg_cron, pg_net, Vault and both secrets must be
-- there, and the cron job must be registered and active
-- =============================================================================================

/** The schedule's Vault secrets that are missing or empty, each an error naming the secret to create. */
create or replace function embeddings._doctor_missing_secrets(settings embeddings.dispatch_settings)
returns embeddings._doctor_finding[]
language plpgsql stable set search_path = ''
as $$
declare
  secret_name text;
  secret_count bigint;
  findings embeddings._doctor_finding[] := array[]::embeddings._doctor_finding[];
begin
  foreach secret_name in array array[settings.project_url_secret, settings.service_key_secret] loop
    execute 'select count(*) from vault.decrypted_secrets as s where s.name = $1 and coalesce(s.decrypted_secret, '''') <> '''''
      into secret_count using secret_name;
    continue when secret_count > 0;
    findings := findings || row('error', 'schedule_prerequisites', format('Vault secret %s', secret_name),
      format('the schedule is on but Vault holds no secret named %s (embeddings.dispatch_settings.%s): every run records a dispatch that was not sent',
        secret_name,
        case when secret_name = settings.project_url_secret then 'project_url_secret' else 'service_key_secret' end),
      format('select vault.create_secret(%L, %L);',
        case when secret_name = settings.project_url_secret
          then 'https://<project-ref>.supabase.co' else '<service_role key>' end,
        secret_name))::embeddings._doctor_finding;
  end loop;
  return findings;
end;
$$;
comment on function embeddings._doctor_missing_secrets(embeddings.dispatch_settings) is
  'schedule_prerequisites findings for the project URL and service key secrets Vault does not hold.';

/** What the schedule lacks while it is on: pg_cron and its job, pg_net, Vault and its secrets. */
create or replace function embeddings._doctor_schedule_gaps(settings embeddings.dispatch_settings)
returns embeddings._doctor_finding[]
language plpgsql stable set search_path = ''
as $$
declare
  job_count bigint;
  job_active boolean;
  findings embeddings._doctor_finding[] := array[]::embeddings._doctor_finding[];
begin
  if pg_catalog.to_regclass('cron.job') is null then
    findings := findings || row('error', 'schedule_prerequisites', 'extension pg_cron',
      'the schedule is on but pg_cron is not installed (no cron.job): nothing runs the dispatch',
      'create extension if not exists pg_cron with schema pg_catalog; -- on Supabase: Database > Extensions > pg_cron; then update embeddings.dispatch_settings set enabled = true; registers the job'
    )::embeddings._doctor_finding;
  else
    execute 'select count(*), pg_catalog.bool_or(j.active) from cron.job as j where j.jobname = $1'
      into job_count, job_active using 'embeddings-dispatch';
    if job_count = 0 or not job_active then
      findings := findings || row('error', 'schedule_prerequisites', 'cron job embeddings-dispatch',
        case when job_count = 0
          then 'the schedule is on but the cron job embeddings-dispatch does not exist: nothing runs the dispatch'
          else 'the schedule is on but the cron job embeddings-dispatch is inactive: nothing runs the dispatch' end,
        'update embeddings.dispatch_settings set enabled = true; -- the settings trigger registers and activates the job'
      )::embeddings._doctor_finding;
    end if;
  end if;
  if pg_catalog.to_regprocedure('net.http_post(text, jsonb, jsonb, jsonb, integer)') is null then
    findings := findings || row('error', 'schedule_prerequisites', 'extension pg_net',
      'the schedule is on but net.http_post(text, jsonb, jsonb, jsonb, integer) is missing: the dispatch cannot call the embed function',
      'create extension if not exists pg_net with schema extensions; -- on Supabase: Database > Extensions > pg_net'
    )::embeddings._doctor_finding;
  end if;
  if pg_catalog.to_regclass('vault.decrypted_secrets') is null then
    return findings || row('error', 'schedule_prerequisites', 'Vault',
      'the schedule is on but vault.decrypted_secrets is missing: the dispatch cannot read the project URL and the service key',
      'create extension if not exists supabase_vault; -- Supabase Vault, part of every Supabase project'
    )::embeddings._doctor_finding;
  end if;
  return findings || embeddings._doctor_missing_secrets(settings);
end;
$$;
comment on function embeddings._doctor_schedule_gaps(embeddings.dispatch_settings) is
  'schedule_prerequisites findings while the schedule is on: pg_cron missing or its job absent or inactive, pg_net missing, Vault or its secrets missing.';

create or replace function embeddings._doctor_schedule_prerequisites()
returns setof embeddings._doctor_finding
language sql stable set search_path = ''
as $$
  select r.*
  from (select embeddings._doctor_settings() as settings) as x
  cross join lateral embeddings._doctor_report(
    case
      when (x.settings).singleton is null then array[row('error', 'schedule_prerequisites', 'embeddings.dispatch_settings',
        'embeddings.dispatch_settings has no row: the scheduled dispatch has no settings',
        'insert into embeddings.dispatch_settings default values;')::embeddings._doctor_finding]
      when (x.settings).enabled then embeddings._doctor_schedule_gaps(x.settings)
    end,
    array['schedule_prerequisites'],
    array[case when (x.settings).enabled
      then format('the schedule is on and has what it needs: pg_cron with the job embeddings-dispatch active, net.http_post, and the Vault secrets %s and %s',
        (x.settings).project_url_secret, (x.settings).service_key_secret)
      else 'the scheduled dispatch is off (embeddings.dispatch_settings.enabled = false): pg_cron, pg_net and Vault are not needed' end]) as r
$$;
comment on function embeddings._doctor_schedule_prerequisites() is
  'doctor''s schedule_prerequisites: with the schedule on, pg_cron and an active embeddings-dispatch job, pg_net, Vault and both secrets.';

-- =============================================================================================
-- service_key_kind: the key the dispatch sends must be a service credential. A publishable key
-- or an anon JWT gets a 403 from the embed function on every run. The secret is never printed.
-- =============================================================================================

/** A JWT's payload (base64url JSON), or null when it does not decode. */
create or replace function embeddings._doctor_jwt_payload(token text)
returns jsonb
language plpgsql immutable set search_path = ''
as $$
declare
  payload_part text := pg_catalog.translate(pg_catalog.split_part(token, '.', 2), '-_', '+/');
begin
  payload_part := payload_part || pg_catalog.repeat('=', (4 - pg_catalog.length(payload_part) % 4) % 4);
  return pg_catalog.convert_from(pg_catalog.decode(payload_part, 'base64'), 'UTF8')::jsonb;
exception when others then
  return null;
end;
$$;
comment on function embeddings._doctor_jwt_payload(text) is
  'The decoded payload of a JWT, or null when it is not base64url JSON.';

create or replace function embeddings._doctor_service_key_kind()
returns setof embeddings._doctor_finding
language plpgsql stable set search_path = ''
as $$
declare
  settings constant embeddings.dispatch_settings := embeddings._doctor_settings();
  key_value text;
  payload jsonb;
  problem text;  -- why the key is not a service credential
  ok_finding text;
begin
  if settings.singleton is not null and pg_catalog.to_regclass('vault.decrypted_secrets') is not null then
    execute 'select s.decrypted_secret from vault.decrypted_secrets as s where s.name = $1 limit 1'
      into key_value using settings.service_key_secret;
  end if;
  if key_value is null or key_value = '' then
    ok_finding := format('no Vault secret named %s to check', coalesce(settings.service_key_secret, '(no settings)'));
  elsif key_value like 'sb\_publishable\_%' then
    problem := format('Vault secret %s holds a publishable key (sb_publishable_...), a client key: the embed function refuses it on every run',
      settings.service_key_secret);
  elsif key_value like 'sb\_secret\_%' then
    ok_finding := format('Vault secret %s holds a secret key (sb_secret_...), a service credential', settings.service_key_secret);
  elsif key_value ~ '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$' then
    -- A JWT: the role claim of its payload says whose key it is.
    payload := embeddings._doctor_jwt_payload(key_value);
    if payload is null then
      problem := format('Vault secret %s looks like a JWT but its payload is not base64url JSON: the embed function refuses it',
        settings.service_key_secret);
    elsif payload ->> 'role' is distinct from 'service_role' then
      problem := format('Vault secret %s holds a JWT whose role is %s, not service_role (an anon key, or a user''s token): the embed function answers 403 on every run',
        settings.service_key_secret, coalesce(pg_catalog.quote_literal(payload ->> 'role'), 'missing'));
    else
      ok_finding := format('Vault secret %s holds a JWT with role service_role', settings.service_key_secret);
    end if;
  else
    problem := format('Vault secret %s holds neither a JWT nor an sb_secret_ key: the embed function refuses it',
      settings.service_key_secret);
  end if;
  return query select * from embeddings._doctor_report(
    case when problem is not null then array[row('error', 'service_key_kind',
      format('Vault secret %s', settings.service_key_secret), problem,
      format('select vault.update_secret(s.id, %L) from vault.secrets as s where s.name = %L; -- the service_role key (or an sb_secret_ key) from Project Settings > API Keys',
        '<service_role key>', settings.service_key_secret))::embeddings._doctor_finding] end,
    array['service_key_kind'], array[ok_finding]);
end;
$$;
comment on function embeddings._doctor_service_key_kind() is
  'doctor''s service_key_kind: the Vault key the dispatch sends is a service credential (an sb_secret_ key or a service_role JWT), never printed.';

-- =============================================================================================
-- dispatch_failures: invocations of the last day that failed, timed out or were not sent; an
-- error when the latest finished one did (the schedule is not working now)
-- =============================================================================================
create or replace function embeddings._doctor_dispatch_failures()
returns setof embeddings._doctor_finding
language plpgsql stable set search_path = ''
as $$
declare
  dispatches_last_day bigint;
  failures_last_day bigint;
  failed_count bigint;
  timed_out_count bigint;
  not_sent_count bigint;
  last_failure_error text;
  last_finished_outcome text;
  last_finished_at timestamptz;
begin
  select count(*),
         count(*) filter (where d.outcome in ('failed', 'timed out', 'not sent')),
         count(*) filter (where d.outcome = 'failed'),
         count(*) filter (where d.outcome = 'timed out'),
         count(*) filter (where d.outcome = 'not sent')
    into dispatches_last_day, failures_last_day, failed_count, timed_out_count, not_sent_count
    from embeddings.dispatches as d
    where d.sent_at > pg_catalog.now() - interval '1 day';
  if failures_last_day > 0 then
    select d.error into last_failure_error from embeddings.dispatches as d
      where d.outcome in ('failed', 'timed out', 'not sent') and d.sent_at > pg_catalog.now() - interval '1 day'
      order by d.id desc limit 1;
    select d.outcome, coalesce(d.finished_at, d.sent_at) into last_finished_outcome, last_finished_at
      from embeddings.dispatches as d
      where d.outcome <> 'in flight' and d.sent_at > pg_catalog.now() - interval '1 day'
      order by d.id desc limit 1;
  end if;
  return query select * from embeddings._doctor_report(
    case when failures_last_day > 0 then array[row(
      case when last_finished_outcome in ('failed', 'timed out', 'not sent') then 'error' else 'warning' end,
      'dispatch_failures', 'embeddings.dispatches',
      format('%s of the last day''s %s dispatches did not succeed (%s failed, %s timed out, %s not sent); the latest finished one %s at %s; the last error: %s',
        failures_last_day, dispatches_last_day, failed_count, timed_out_count, not_sent_count,
        last_finished_outcome, last_finished_at, coalesce(last_failure_error, '(none recorded)')),
      case last_finished_outcome
        when 'timed out' then
          'give the function more time than it works: update embeddings.dispatch_settings set request_timeout_ms = time_budget_ms + 30000; (or lower time_budget_ms); then select * from embeddings.dispatches order by id desc limit 20;'
        when 'not sent' then
          'create the Vault secret the error names (select vault.create_secret(''<value>'', ''<name>'');), then select * from embeddings.dispatches order by id desc limit 20;'
        else
          'read the errors: select id, sent_at, outcome, status_code, error from embeddings.dispatches where outcome <> ''succeeded'' order by id desc limit 20; and the embed function''s logs (Dashboard > Edge Functions > embed > Logs); failed rows stay queued, nothing is lost'
      end)::embeddings._doctor_finding] end,
    array['dispatch_failures'],
    array['no scheduled dispatch failed, timed out or went unsent in the last day']);
end;
$$;
comment on function embeddings._doctor_dispatch_failures() is
  'doctor''s dispatch_failures: the last day''s dispatches that failed, timed out or were not sent; an error when the latest finished one did, else a warning.';

-- =============================================================================================
-- skipped_targets: targets the latest answered invocation skipped because the embed function's
-- provider does not make their model (a 200 all the same: their rows just stay queued)
-- =============================================================================================
create or replace function embeddings._doctor_skipped_targets()
returns setof embeddings._doctor_finding
language plpgsql stable set search_path = ''
as $$
declare
  latest embeddings.dispatches;
begin
  select * into latest from embeddings.dispatches as d
    where d.outcome not in ('in flight', 'not sent') order by d.id desc limit 1;
  return query select * from embeddings._doctor_report(
    array(select row('warning', 'skipped_targets', s.target_name,
        format('the embed function''s answer to dispatch %s (%s) skipped target %s, whose rows stay queued: %s',
          latest.id, coalesce(latest.finished_at, latest.sent_at), s.target_name, s.reason),
        'switch the target to the model the function makes (select embeddings.set_target_model(<target id>, ''<model>'', <dimensions>);), or run a worker whose provider makes its model (npx deno task cli backfill --target <name> with EMBEDDING_PROVIDER set for it)'
      )::embeddings._doctor_finding
      from pg_catalog.jsonb_each_text(coalesce(latest.skipped, '{}'::jsonb)) as s(target_name, reason)
      order by s.target_name),
    array['skipped_targets'],
    array['the latest answered scheduled invocation skipped no target (every target''s model is one the embed function makes)']);
end;
$$;
comment on function embeddings._doctor_skipped_targets() is
  'doctor''s skipped_targets: a warning per target the latest answered scheduled invocation skipped because the embed function''s provider does not make its model (recorded in embeddings.dispatches.skipped); its rows stay queued until a worker of its model embeds them.';

-- =============================================================================================
-- accepted_keys: which kinds of key the embed function accepts, as its latest answer to the
-- dispatch says ("acceptedKeys" in every report, recorded by collect_dispatch_outcomes). Legacy
-- keys stay valid while the function accepts them, even once disabled in the dashboard.
-- =============================================================================================
create or replace function embeddings._doctor_accepted_keys()
returns setof embeddings._doctor_finding
language plpgsql stable set search_path = ''
as $$
declare
  latest embeddings.dispatches;
  legacy text[];
begin
  select * into latest from embeddings.dispatches as d
    where d.accepted_keys is not null order by d.id desc limit 1;
  legacy := array(select k.kind from pg_catalog.unnest(latest.accepted_keys) as k(kind)
                  where k.kind ~* 'legacy');
  return query select * from embeddings._doctor_report(
    case when pg_catalog.cardinality(legacy) > 0 then array[row('warning', 'accepted_keys', 'the embed function',
      format('the embed function''s answer to dispatch %s (%s) says it accepts %s: the legacy key kinds (%s) stay valid while it accepts them, even after they are disabled in the dashboard, and a leaked one drives embed',
        latest.id, coalesce(latest.finished_at, latest.sent_at), pg_catalog.array_to_string(latest.accepted_keys, ', '),
        pg_catalog.array_to_string(legacy, ', ')),
      'give the dispatch a secret key (select vault.update_secret(s.id, ''<sb_secret_... key>'') from vault.secrets as s where s.name = ''secret_key'';), then stop accepting legacy keys: supabase secrets set EMBEDDINGS_ACCEPT_LEGACY_KEYS=false (see docs/security.md)'
    )::embeddings._doctor_finding] end,
    array['accepted_keys'],
    array[case when latest.id is null
      then 'no answer of the embed function has said which keys it accepts yet (recorded from the scheduled dispatch)'
      else format('the embed function accepts %s, by its answer to dispatch %s (%s)',
        pg_catalog.array_to_string(latest.accepted_keys, ', '), latest.id, coalesce(latest.finished_at, latest.sent_at)) end]);
end;
$$;
comment on function embeddings._doctor_accepted_keys() is
  'doctor''s accepted_keys: the kinds of key the embed function accepts, by its latest answer recorded in embeddings.dispatches.accepted_keys; a warning while a legacy kind (a legacy key or a JWT) is among them.';

-- =============================================================================================
-- time_budget: one invocation must finish within the platform's limit for a request
-- =============================================================================================
create or replace function embeddings._doctor_time_budget()
returns setof embeddings._doctor_finding
language sql stable set search_path = ''
as $$
  select r.*
  -- Supabase's request idle timeout, and the Free plan's wall clock, for one Edge Function call.
  from (select embeddings._doctor_settings() as settings, 150000 as limit_ms) as x
  cross join lateral embeddings._doctor_report(
    case when (x.settings).time_budget_ms > x.limit_ms then array[row('error', 'time_budget',
      'embeddings.dispatch_settings.time_budget_ms',
      format('time_budget_ms is %s, over %s ms: Supabase ends an Edge Function request idle for 150 s, and the Free plan''s wall clock is 150 s (paid plans allow 400 s, but the idle timeout still applies), so invocations are cut off mid-batch',
        (x.settings).time_budget_ms, x.limit_ms),
      'update embeddings.dispatch_settings set time_budget_ms = 50000; -- the default; at most 150000, and below request_timeout_ms'
    )::embeddings._doctor_finding] end,
    array['time_budget'],
    array[case when (x.settings).singleton is null
      then 'no dispatch settings, so no time budget to check'
      else format('the dispatch''s time budget (%s ms) is within Supabase''s %s ms limit for a request',
        (x.settings).time_budget_ms, x.limit_ms) end]) as r
$$;
comment on function embeddings._doctor_time_budget() is
  'doctor''s time_budget: the dispatch''s time budget within Supabase''s 150 s limit for a request.';

-- =============================================================================================
-- target_broken: a registered target whose table, vector column, content function or sync
-- triggers changed under it
-- =============================================================================================

/** The target_broken finding of one target, or null when it is whole. */
create or replace function embeddings._doctor_broken_target(registered embeddings.targets)
returns embeddings._doctor_finding
language plpgsql stable set search_path = ''
as $$
declare
  -- What is broken in the target's parts, and its fix, is said in one place.
  reason text := embeddings._broken_reason(registered);
  fix text := pg_catalog.split_part(reason, '; fix: ', 2);
  missing_triggers text;
begin
  if reason is not null then
    reason := pg_catalog.split_part(reason, '; fix: ', 1);
  else
    select pg_catalog.string_agg(format('%I', expected.trigger_name), ', ' order by expected.trigger_name)
      into missing_triggers
      from (values ('embeddings_queue_' || registered.id), ('embeddings_requeue_' || registered.id),
                   ('embeddings_forget_' || registered.id), ('embeddings_truncate_' || registered.id))
        as expected(trigger_name)
      where not exists (
        select 1 from pg_catalog.pg_trigger as tr
        where tr.tgrelid = pg_catalog.to_regclass(format('%I.%I', registered.table_schema, registered.table_name))
          and tr.tgname = expected.trigger_name and tr.tgenabled <> 'D');
    if missing_triggers is null then
      return null;
    end if;
    reason := format('its sync trigger %s is missing or disabled on %I.%I: changed rows are no longer queued',
      missing_triggers, registered.table_schema, registered.table_name);
    fix := format(
      'select embeddings.unregister_target(%s); select embeddings.register_target(%L, %L, %L, %L, %L, %s, %s, %L, %L);',
      registered.id, format('%I.%I', registered.table_schema, registered.table_name), registered.key_column,
      registered.content_function, registered.embedding_column, registered.model, registered.dimensions,
      registered.max_attempts, registered.name, registered.chunking)
      || ' -- registers it again with its triggers (or alter table ... enable trigger ... for a disabled one)';
  end if;
  return row('error', 'target_broken', registered.name,
    format('target %s (id %s): %s', registered.name, registered.id, reason), fix)::embeddings._doctor_finding;
end;
$$;
comment on function embeddings._doctor_broken_target(embeddings.targets) is
  'What is broken in a target (its table, vector column, content function or sync triggers) as a target_broken finding with its fix; null when nothing is.';

create or replace function embeddings._doctor_target_broken()
returns setof embeddings._doctor_finding
language plpgsql stable set search_path = ''
as $$
declare
  registered embeddings.targets;
  finding embeddings._doctor_finding;
  findings embeddings._doctor_finding[] := array[]::embeddings._doctor_finding[];
begin
  for registered in select * from embeddings.targets as t order by t.id loop
    finding := embeddings._doctor_broken_target(embeddings._target_by_id(registered.id));  -- follows a renamed table
    if finding.level is not null then
      findings := findings || finding;
    end if;
  end loop;
  return query select * from embeddings._doctor_report(findings, array['target_broken'],
    array[format('every registered target (%s) has its table, vector column of the model''s dimensions, content function and sync triggers',
      (select count(*) from embeddings.targets))]);
end;
$$;
comment on function embeddings._doctor_target_broken() is
  'doctor''s target_broken: registered targets whose table, vector column, content function or sync triggers changed under them.';

-- =============================================================================================
-- chunk_tables: a chunked target's chunk table closed to clients, and its chunks matching its rows
-- =============================================================================================

/** Who but service_role may reach a chunk table: the client roles and PUBLIC with a privilege on it. */
create or replace function embeddings._doctor_chunk_table_grantees(chunks regclass)
returns text
language sql stable set search_path = ''
as $$
  select pg_catalog.string_agg(g.grantee, ', ' order by g.grantee)
  from pg_catalog.unnest(embeddings._doctor_client_roles() || array['public']) as g(grantee)
  where pg_catalog.has_table_privilege(g.grantee, chunks, 'select, insert, update, delete, truncate')
$$;
comment on function embeddings._doctor_chunk_table_grantees(regclass) is
  'The client roles (anon, authenticated) and PUBLIC holding any privilege on a chunk table, as a list, or null.';

/** The chunk_tables findings of one chunked target: its chunk table's exposure, then its chunks' drift. */
create or replace function embeddings._doctor_chunk_table(registered embeddings.targets)
returns embeddings._doctor_finding[]
language plpgsql volatile set search_path = ''
as $$
declare
  chunks constant regclass := embeddings.chunk_table(registered.id);
  grantees text := embeddings._doctor_chunk_table_grantees(chunks);
  findings embeddings._doctor_finding[] := array[]::embeddings._doctor_finding[];
  drift jsonb;
  problem_code text;
begin
  if not (select c.relrowsecurity from pg_catalog.pg_class as c where c.oid = chunks) then
    findings := findings || row('error', 'chunk_tables', chunks::text,
      format('chunk table %s of target %s has row-level security off', chunks, registered.name),
      format('alter table %s enable row level security;', chunks))::embeddings._doctor_finding;
  end if;
  if grantees is not null then
    findings := findings || row('error', 'chunk_tables', chunks::text,
      format('%s may read or write chunk table %s of target %s: chunks reach clients only through the search, under their rows'' RLS',
        grantees, chunks, registered.name),
      format('revoke all on table %s from %s;', chunks, grantees))::embeddings._doctor_finding;
  end if;
  -- The chunks against their rows, as verify reads them (nothing fixed here).
  drift := embeddings._verify_target(registered, false, 3) -> 'found';
  foreach problem_code in array array['missing_chunks', 'other_model_chunks', 'stale_chunks', 'orphan_chunks'] loop
    continue when drift -> problem_code is null;
    findings := findings || row('warning', 'chunk_tables', registered.name,
      format('target %s: %s rows with %s (%s), for example %s', registered.name, drift -> problem_code ->> 'count', problem_code,
        (select c.description from embeddings.verify_checks() as c where c.problem = problem_code),
        (select pg_catalog.string_agg(k, ', ') from pg_catalog.jsonb_array_elements_text(drift -> problem_code -> 'sample') as k)),
      format('select * from embeddings.verify(%s, fix => true);', registered.id))::embeddings._doctor_finding;
  end loop;
  return findings;
end;
$$;
comment on function embeddings._doctor_chunk_table(embeddings.targets) is
  'doctor''s chunk_tables findings for one chunked target: its chunk table with RLS off or a privilege for anon, authenticated or PUBLIC (errors), and chunks that do not match their rows as verify finds them (warnings: missing_chunks, other_model_chunks, stale_chunks, orphan_chunks), each with its fix.';

create or replace function embeddings._doctor_chunk_tables()
returns setof embeddings._doctor_finding
language plpgsql volatile set search_path = ''
as $$
declare
  registered embeddings.targets;
  findings embeddings._doctor_finding[] := array[]::embeddings._doctor_finding[];
  checked integer := 0;
begin
  for registered in select * from embeddings.targets as t where t.chunking is not null order by t.id loop
    registered := embeddings._target_by_id(registered.id);  -- follows a renamed table
    continue when embeddings._broken_reason(registered) is not null;  -- target_broken reports it
    findings := findings || embeddings._doctor_chunk_table(registered);
    checked := checked + 1;
  end loop;
  -- The count is of the chunk tables read, not of the registry: a broken target's is not read.
  return query select * from embeddings._doctor_report(findings, array['chunk_tables'],
    array[format('every chunked target''s chunk table (%s) has RLS on, no privilege for clients, and chunks that match their rows',
      checked)]);
end;
$$;
comment on function embeddings._doctor_chunk_tables() is
  'doctor''s chunk_tables: for every chunked target that is not broken, its chunk table closed to clients (RLS on, no privilege for anon, authenticated or PUBLIC) and its chunks matching its rows (none missing, of another model, stale or orphaned, as embeddings.verify reads them).';

/** Targets whose UPDATE trigger calls the content function on both versions of every row. */
create or replace function embeddings._doctor_content_columns()
returns setof embeddings._doctor_finding
language plpgsql stable set search_path = ''
as $$
declare
  registered embeddings.targets;
  findings embeddings._doctor_finding[] := array[]::embeddings._doctor_finding[];
  checked integer := 0;
  function_oid oid;
  owner_name name;
  reason text;
begin
  for registered in select * from embeddings.targets as t order by t.id loop
    registered := embeddings._target_by_id(registered.id);  -- follows a renamed table
    continue when embeddings._broken_reason(registered) is not null;  -- target_broken reports it
    checked := checked + 1;
    continue when embeddings._content_columns(registered) is not null;
    function_oid := embeddings._content_function_oid(registered.content_function);
    -- Which of the three: a string body of another owner is never probed (see _probe_content_columns).
    select r.rolname,
           case when p.prosqlbody is null and r.rolname <> current_user then 'owner'
                when registered.content_columns_from is distinct from embeddings._function_source_hash(p.oid) then 'replaced'
                else 'unreadable' end
      into owner_name, reason
      from pg_catalog.pg_proc as p join pg_catalog.pg_roles as r on r.oid = p.proowner
      where p.oid = function_oid;
    findings := findings || row('warning', 'content_columns', registered.name,
      format('each UPDATE of %I.%I calls its content function %s on the old and new version of every updated row (about twice the cost of the same UPDATE on an unregistered table): %s',
        registered.table_schema, registered.table_name, registered.content_function,
        case reason
          when 'owner' then format('it is owned by %I, and the engine reads only string bodies owned by %I', owner_name, current_user)
          when 'replaced' then 'the function was replaced since the engine last read which columns it reads'
          else 'the engine cannot tell which columns it reads (a body of several steps, another function of yours, another table or the whole row)' end),
      case reason
        when 'owner' then format('alter function %s owner to %I; -- the engine then reads it, as it does whenever a function is created or altered',
                            registered.content_function, current_user)
        when 'replaced' then format('alter function %s owner to %I; -- changes nothing, and has the engine read it again, as creating or altering it does',
                               registered.content_function, owner_name)
        else format('write %s so that it reads only fields of its row: a begin atomic body (create or replace function ... language sql immutable set search_path = '''' begin atomic select <row>.title || '' '' || <row>.body; end;), an SQL body, or PL/pgSQL that is one return <expression>;', registered.content_function) end
    )::embeddings._doctor_finding;
  end loop;
  return query select * from embeddings._doctor_report(findings, array['content_columns'],
    array[format('every target''s content function (%s) reads columns the engine knows: an UPDATE of other columns never calls it',
      checked)]);
end;
$$;
comment on function embeddings._doctor_content_columns() is
  'doctor''s content_columns: a warning for each target that is not broken whose content function''s columns the engine does not know (embeddings._content_columns is null: a body it cannot read, or one replaced since it read it), so that each UPDATE calls the function on both versions of every row; the fix says how to write it or how to have it read again.';

-- =============================================================================================
-- doctor: the checks in order, each behind the one exception block
-- =============================================================================================

/**
 * Checks the database for the seed's failure modes. One row per check that passes (level 'ok',
 * subject null, finding saying what was checked) and one row per finding (level 'error' or
 * 'warning', subject naming the table, function, secret or target, finding saying what is wrong,
 * fix giving the SQL or the step that fixes it). A check that cannot run is an 'error' row of
 * that check: the function itself never raises. cron, net and vault are reached only through
 * dynamic SQL, so it compiles and runs on a database without them.
 */
create or replace function embeddings.doctor()
returns table (level text, check_name text, subject text, finding text, fix text)
language plpgsql volatile security definer set search_path = ''
as $$
declare
  -- Each runs as embeddings._doctor_<name>(); a pair of checks runs under the first's name.
  checks constant text[] := array[
    'rls_disabled', 'client_can_write_vector', 'definer_search_path', 'engine_client_executable',
    'vector_in_public', 'schedule_prerequisites', 'service_key_kind', 'accepted_keys', 'dispatch_failures',
    'skipped_targets', 'time_budget', 'target_broken', 'chunk_tables', 'content_columns'];
  one_check text;
begin
  foreach one_check in array checks loop
    begin
      return query execute format('select * from embeddings.%I()', '_doctor_' || one_check);
    exception when others then
      return query select 'error'::text, one_check, null::text,
        format('the check could not run: %s', sqlerrm),
        'fix what the error names, then run select * from embeddings.doctor(); again'::text;
    end;
  end loop;
end;
$$;
comment on function embeddings.doctor() is
  'Checks the database for the seed''s failure modes, each with its fix: rls_disabled (a table in an exposed schema without RLS), client_can_write_vector and client_write_silently_filtered (anon or authenticated able to write a target''s vector column, or silently filtered when they try), definer_search_path and definer_client_executable (SECURITY DEFINER functions without a fixed search_path or callable by clients), engine_client_executable (an engine function other than the search''s executable by anon, authenticated or PUBLIC), vector_in_public, schedule_prerequisites (pg_cron, pg_net, Vault and its secrets when the schedule is on), service_key_kind (the Vault key is a service credential, not an anon or publishable key), accepted_keys (the embed function still accepts legacy keys, by its latest answer), dispatch_failures, skipped_targets (targets the latest scheduled invocation skipped as of a model its provider does not make), time_budget (within the platform''s 150 s), target_broken and chunk_tables (a chunked target''s chunk table open to clients, or chunks missing, of another model, stale or orphaned), content_columns (a content function whose columns the engine does not know, so every UPDATE calls it twice a row). One ok row per check that passes; one error or warning row per finding with the SQL that fixes it. Never raises: a check that cannot run is an error row.';
