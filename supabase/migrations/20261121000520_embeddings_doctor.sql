-- =============================================================================================
-- EMBEDDING ENGINE: doctor, the seed's failure modes found before they bite
-- =============================================================================================
-- One function that checks the database for what went wrong in the seed project, or would go wrong
-- next: tables open to the API without row-level security, client roles able to write a vector
-- column (or silently filtered when they try), SECURITY DEFINER functions without a fixed
-- search_path or callable by clients, pgvector in public, a schedule without its prerequisites, a
-- Vault key that is not a service credential, failing dispatches, a time budget over the
-- platform's limit, and targets whose table, column or content function changed under them.
-- Every finding comes with the SQL or the step that fixes it. `deno task cli doctor` calls it (and
-- adds the one check only the caller can make: the provider's model); so can the SQL editor.

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
  -- The API roles a browser or app holds; service_role is trusted.
  client_roles constant text[] := array['anon', 'authenticated'];
  -- Supabase's own schemas and the system's: their definer functions are not the project's to fix.
  platform_schemas constant text[] := array[
    'pg_catalog', 'information_schema', 'auth', 'storage', 'realtime', 'vault', 'graphql',
    'graphql_public', 'net', 'cron', 'pgsodium', 'pgsodium_masks', 'supabase_functions',
    'extensions', 'pgbouncer', 'tests'];
  -- Supabase's request idle timeout, and the Free plan's wall clock, for one Edge Function call.
  platform_time_limit_ms constant integer := 150000;
  could_not_run_fix constant text := 'fix what the error names, then run select * from embeddings.doctor(); again';
  exposed_setting text;
  exposed text[];
  settings embeddings.dispatch_settings;
  registered embeddings.targets;
  table_oid oid;
  column_number smallint;
  rls_on boolean;
  client_role text;
  command text;
  policy_names text;
  grantees text;
  other_columns text;
  writable_commands text[];
  writable_reasons text[];
  writable_fixes text[];
  filtered_commands text[];
  filtered_fixes text[];
  command_fix text;
  problem record;
  reported integer;
  reported_second integer;  -- the findings of the second check of a pair
  secret_name text;
  secret_count bigint;
  job_count bigint;
  job_active boolean;
  key_value text;
  payload_part text;
  jwt_role text;
  dispatches_last_day bigint;
  failures_last_day bigint;
  failed_count bigint;
  timed_out_count bigint;
  not_sent_count bigint;
  last_failure_error text;
  last_finished_outcome text;
  last_finished_at timestamptz;
  broken_reason text;
  vector_schema name;
  register_call text;
begin
  -- ===========================================================================================
  -- rls_disabled: a table in a schema the API exposes, without row-level security
  -- ===========================================================================================
  begin
    -- PostgREST's exposed schemas: the setting when the database has it, else the in-database
    -- configuration of the authenticator role, else Supabase's default; the engine's own schema
    -- is checked as well (its tables must stay closed even if someone exposes it).
    exposed_setting := coalesce(
      nullif(pg_catalog.current_setting('pgrst.db_schemas', true), ''),
      (select pg_catalog.substr(c.setting, pg_catalog.length('pgrst.db_schemas=') + 1)
         from pg_catalog.pg_db_role_setting as s
         cross join lateral pg_catalog.unnest(s.setconfig) as c(setting)
         where s.setrole = pg_catalog.to_regrole('authenticator')
           and c.setting like 'pgrst.db\_schemas=%'
         limit 1),
      'public');
    exposed := array(
      select distinct pg_catalog.btrim(schema_name.value, ' "')
      from pg_catalog.unnest(pg_catalog.string_to_array(exposed_setting, ',') || array['embeddings'])
        as schema_name(value)
      where pg_catalog.btrim(schema_name.value, ' "') <> ''
      order by 1);

    reported := 0;
    for problem in
      select n.nspname as schema_name, c.relname as table_name
      from pg_catalog.pg_class as c
      join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p') and not c.relrowsecurity and n.nspname = any (exposed)
      order by n.nspname, c.relname
    loop
      level := 'error';
      check_name := 'rls_disabled';
      subject := format('%I.%I', problem.schema_name, problem.table_name);
      finding := format(
        'table %I.%I is in a schema the API exposes (%s) and has row-level security off: anyone with the anon key can read and write whatever its grants allow',
        problem.schema_name, problem.table_name, pg_catalog.array_to_string(exposed, ', '));
      fix := format(
        'alter table %I.%I enable row level security; -- then add a policy for each thing clients may do (none: only service_role reaches it)',
        problem.schema_name, problem.table_name);
      return next;
      reported := reported + 1;
    end loop;
    if reported = 0 then
      return query select 'ok'::text, 'rls_disabled'::text, null::text,
        format('every table in the exposed schemas (%s) has row-level security on',
          pg_catalog.array_to_string(exposed, ', ')),
        null::text;
    end if;
  exception when others then
    return query select 'error'::text, 'rls_disabled'::text, null::text,
      format('the check could not run: %s', sqlerrm), could_not_run_fix;
  end;

  -- ===========================================================================================
  -- client_can_write_vector / client_write_silently_filtered: may anon or authenticated write
  -- a target's vector column? With RLS off or a permissive policy letting them, they can (an
  -- error). With the privilege but no policy, RLS filters their write to 0 rows without an error
  -- (the seed's "20/20 succeeded" with nothing stored): the fix is to revoke the privilege so
  -- the write fails loudly with permission denied.
  -- ===========================================================================================
  begin
    reported := 0;
    reported_second := 0;
    for registered in select * from embeddings.targets as t order by t.id loop
      table_oid := pg_catalog.to_regclass(format('%I.%I', registered.table_schema, registered.table_name));
      continue when table_oid is null;  -- target_broken reports it
      select a.attnum, c.relrowsecurity into column_number, rls_on
        from pg_catalog.pg_attribute as a
        join pg_catalog.pg_class as c on c.oid = a.attrelid
        where a.attrelid = table_oid and a.attname = registered.embedding_column
          and a.attnum > 0 and not a.attisdropped;
      continue when column_number is null;  -- target_broken reports it
      -- The columns clients may keep writing once the vector is taken from them.
      select pg_catalog.string_agg(format('%I', a.attname), ', ' order by a.attnum) into other_columns
        from pg_catalog.pg_attribute as a
        where a.attrelid = table_oid and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
          and a.attname <> registered.embedding_column;

      foreach client_role in array client_roles loop
        continue when pg_catalog.to_regrole(client_role) is null;
        writable_commands := array[]::text[];
        writable_reasons := array[]::text[];
        writable_fixes := array[]::text[];
        filtered_commands := array[]::text[];
        filtered_fixes := array[]::text[];
        foreach command in array array['INSERT', 'UPDATE'] loop
          continue when not pg_catalog.has_column_privilege(client_role, table_oid, column_number, command);
          -- Permissive policies for this command that apply to the role (directly, through a
          -- role it belongs to, or to PUBLIC).
          select pg_catalog.string_agg(format('%I', p.polname), ', ' order by p.polname) into policy_names
            from pg_catalog.pg_policy as p
            where p.polrelid = table_oid and p.polpermissive
              and p.polcmd in (case command when 'INSERT' then 'a' else 'w' end, '*')
              and (0::oid = any (p.polroles)
                   or exists (select 1 from pg_catalog.unnest(p.polroles) as policy_role(role_oid)
                              where pg_catalog.pg_has_role(client_role, policy_role.role_oid, 'member')));
          -- A table-wide grant is not taken away by a column revoke: revoke it and grant back the
          -- other columns. A grant to PUBLIC must be revoked from PUBLIC.
          grantees := case when pg_catalog.has_column_privilege('public', table_oid, column_number, command)
                           then format('public, %I', client_role) else format('%I', client_role) end;
          if pg_catalog.has_table_privilege(client_role, table_oid, command) then
            command_fix := format('revoke %s on %I.%I from %s;', pg_catalog.lower(command),
              registered.table_schema, registered.table_name, grantees);
            if other_columns is not null then
              command_fix := command_fix || format(' grant %s (%s) on %I.%I to %I;', pg_catalog.lower(command),
                other_columns, registered.table_schema, registered.table_name, client_role);
            end if;
          else
            command_fix := format('revoke %s (%I) on %I.%I from %s;', pg_catalog.lower(command),
              registered.embedding_column, registered.table_schema, registered.table_name, grantees);
          end if;

          if not rls_on then
            writable_commands := writable_commands || command;
            writable_reasons := writable_reasons || format('%s: row-level security is off', command);
            writable_fixes := writable_fixes || command_fix;
          elsif policy_names is not null then
            writable_commands := writable_commands || command;
            writable_reasons := writable_reasons || format('%s: policy %s lets it', command, policy_names);
            writable_fixes := writable_fixes || command_fix;
          else
            filtered_commands := filtered_commands || command;
            filtered_fixes := filtered_fixes || command_fix;
          end if;
        end loop;

        if pg_catalog.cardinality(writable_commands) > 0 then
          level := 'error';
          check_name := 'client_can_write_vector';
          subject := format('%I.%I.%I', registered.table_schema, registered.table_name, registered.embedding_column);
          finding := format(
            'role %s can %s the vector column of target %s (%s): a client can store any vector it likes',
            client_role, pg_catalog.array_to_string(writable_commands, ' and '), registered.name,
            pg_catalog.array_to_string(writable_reasons, '; '));
          fix := pg_catalog.array_to_string(writable_fixes, ' ')
            || ' -- vectors are written only by the worker, through embeddings.write_batch';
          return next;
          reported := reported + 1;
        end if;
        if pg_catalog.cardinality(filtered_commands) > 0 then
          level := 'warning';
          check_name := 'client_write_silently_filtered';
          subject := format('%I.%I.%I', registered.table_schema, registered.table_name, registered.embedding_column);
          finding := format(
            'role %s has the %s privilege on the vector column of target %s but no policy lets it write: row-level security filters its writes to 0 rows without an error (a silent 200 from the API, as in the seed)',
            client_role, pg_catalog.array_to_string(filtered_commands, ' and '), registered.name);
          fix := pg_catalog.array_to_string(filtered_fixes, ' ')
            || ' -- so a client''s write fails loudly with permission denied';
          return next;
          reported_second := reported_second + 1;
        end if;
      end loop;
    end loop;
    if reported = 0 then
      return query select 'ok'::text, 'client_can_write_vector'::text, null::text,
        'no client role (anon, authenticated) can insert or update the vector column of any registered target'::text,
        null::text;
    end if;
    if reported_second = 0 then
      return query select 'ok'::text, 'client_write_silently_filtered'::text, null::text,
        'no client role holds a write privilege on a vector column that row-level security would silently filter'::text,
        null::text;
    end if;
  exception when others then
    return query select 'error'::text, 'client_can_write_vector'::text, null::text,
      format('the check could not run: %s', sqlerrm), could_not_run_fix;
  end;

  -- ===========================================================================================
  -- definer_search_path / definer_client_executable: the project's SECURITY DEFINER functions
  -- must fix their search_path (or a caller's objects can stand in for the ones they use) and
  -- must not be callable by client roles. Functions of extensions, of Supabase's own schemas and
  -- of the system are not the project's to change.
  -- ===========================================================================================
  begin
    reported := 0;
    reported_second := 0;
    for problem in
      select p.oid::regprocedure::text as signature,
             not exists (select 1 from pg_catalog.unnest(p.proconfig) as setting(value)
                         where setting.value like 'search\_path=%') as no_search_path,
             array(select r.role_name from pg_catalog.unnest(client_roles) as r(role_name)
                   where pg_catalog.to_regrole(r.role_name) is not null
                     and pg_catalog.has_function_privilege(r.role_name, p.oid, 'execute')
                     and pg_catalog.has_schema_privilege(r.role_name, p.pronamespace, 'usage')) as callers,
             p.prorettype in ('pg_catalog.trigger'::regtype, 'pg_catalog.event_trigger'::regtype) as trigger_function
      from pg_catalog.pg_proc as p
      join pg_catalog.pg_namespace as n on n.oid = p.pronamespace
      where p.prosecdef
        and n.nspname <> all (platform_schemas)
        and n.nspname !~ '^pg_'
        and not exists (
          select 1 from pg_catalog.pg_depend as d
          where d.classid = 'pg_catalog.pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
      order by 1
    loop
      if problem.no_search_path then
        level := 'error';
        check_name := 'definer_search_path';
        subject := problem.signature;
        finding := format(
          'SECURITY DEFINER function %s runs with its owner''s rights but takes the caller''s search_path: a caller who can create objects earlier on the path can make it use theirs',
          problem.signature);
        fix := format('alter function %s set search_path = ''''; -- then schema-qualify every name its body uses',
          problem.signature);
        return next;
        reported := reported + 1;
      end if;
      -- A trigger function cannot be called directly, so EXECUTE on it opens nothing.
      if pg_catalog.cardinality(problem.callers) > 0 and not problem.trigger_function then
        level := 'error';
        check_name := 'definer_client_executable';
        subject := problem.signature;
        finding := format(
          'SECURITY DEFINER function %s can be called by %s (EXECUTE on it and USAGE on its schema): it runs with its owner''s rights for any client',
          problem.signature, pg_catalog.array_to_string(problem.callers, ' and '));
        fix := format(
          'revoke execute on function %s from public, anon, authenticated; -- grant it to service_role, or only to the role that needs it, and make it check its caller',
          problem.signature);
        return next;
        reported_second := reported_second + 1;
      end if;
    end loop;
    if reported = 0 then
      return query select 'ok'::text, 'definer_search_path'::text, null::text,
        'every SECURITY DEFINER function outside Supabase''s schemas and extensions sets its search_path'::text,
        null::text;
    end if;
    if reported_second = 0 then
      return query select 'ok'::text, 'definer_client_executable'::text, null::text,
        'no SECURITY DEFINER function outside Supabase''s schemas and extensions can be called by anon or authenticated'::text,
        null::text;
    end if;
  exception when others then
    return query select 'error'::text, 'definer_search_path'::text, null::text,
      format('the check could not run: %s', sqlerrm), could_not_run_fix;
  end;

  -- ===========================================================================================
  -- vector_in_public: pgvector's objects in public clutter the API's schema (Supabase's advisor
  -- flags extensions in public)
  -- ===========================================================================================
  begin
    select n.nspname into vector_schema
      from pg_catalog.pg_extension as e join pg_catalog.pg_namespace as n on n.oid = e.extnamespace
      where e.extname = 'vector';
    if vector_schema is null then
      return query select 'ok'::text, 'vector_in_public'::text, null::text,
        'the vector extension is not installed, so it is not in public'::text, null::text;
    elsif vector_schema = 'public' then
      return query select 'warning'::text, 'vector_in_public'::text, 'extension vector'::text,
        'the vector extension is installed in schema public: its types, functions and operators sit in the schema the API exposes'::text,
        'create schema if not exists extensions; alter extension vector set schema extensions; -- columns keep their type; SQL that names public.vector must say extensions.vector'::text;
    else
      return query select 'ok'::text, 'vector_in_public'::text, null::text,
        format('the vector extension is installed in schema %I, not public', vector_schema), null::text;
    end if;
  exception when others then
    return query select 'error'::text, 'vector_in_public'::text, null::text,
      format('the check could not run: %s', sqlerrm), could_not_run_fix;
  end;

  -- The settings row the schedule, the key and the time budget checks read.
  begin
    select * into settings from embeddings.dispatch_settings as s limit 1;
  exception when others then
    settings := null;
  end;

  -- ===========================================================================================
  -- schedule_prerequisites: with the schedule on, pg_cron, pg_net, Vault and both secrets must be
  -- there, and the cron job must be registered and active
  -- ===========================================================================================
  begin
    if settings.singleton is null then
      return query select 'error'::text, 'schedule_prerequisites'::text, 'embeddings.dispatch_settings'::text,
        'embeddings.dispatch_settings has no row: the scheduled dispatch has no settings'::text,
        'insert into embeddings.dispatch_settings default values;'::text;
    elsif not settings.enabled then
      return query select 'ok'::text, 'schedule_prerequisites'::text, null::text,
        'the scheduled dispatch is off (embeddings.dispatch_settings.enabled = false): pg_cron, pg_net and Vault are not needed'::text,
        null::text;
    else
      reported := 0;
      if pg_catalog.to_regclass('cron.job') is null then
        return query select 'error'::text, 'schedule_prerequisites'::text, 'extension pg_cron'::text,
          'the schedule is on but pg_cron is not installed (no cron.job): nothing runs the dispatch'::text,
          'create extension if not exists pg_cron with schema pg_catalog; -- on Supabase: Database > Extensions > pg_cron; then update embeddings.dispatch_settings set enabled = true; registers the job'::text;
        reported := reported + 1;
      else
        execute 'select count(*), pg_catalog.bool_or(j.active) from cron.job as j where j.jobname = $1'
          into job_count, job_active using 'embeddings-dispatch';
        if job_count = 0 or not job_active then
          return query select 'error'::text, 'schedule_prerequisites'::text, 'cron job embeddings-dispatch'::text,
            case when job_count = 0
              then 'the schedule is on but the cron job embeddings-dispatch does not exist: nothing runs the dispatch'
              else 'the schedule is on but the cron job embeddings-dispatch is inactive: nothing runs the dispatch' end,
            'update embeddings.dispatch_settings set enabled = true; -- the settings trigger registers and activates the job'::text;
          reported := reported + 1;
        end if;
      end if;
      if pg_catalog.to_regprocedure('net.http_post(text, jsonb, jsonb, jsonb, integer)') is null then
        return query select 'error'::text, 'schedule_prerequisites'::text, 'extension pg_net'::text,
          'the schedule is on but net.http_post(text, jsonb, jsonb, jsonb, integer) is missing: the dispatch cannot call the embed function'::text,
          'create extension if not exists pg_net with schema extensions; -- on Supabase: Database > Extensions > pg_net'::text;
        reported := reported + 1;
      end if;
      if pg_catalog.to_regclass('vault.decrypted_secrets') is null then
        return query select 'error'::text, 'schedule_prerequisites'::text, 'Vault'::text,
          'the schedule is on but vault.decrypted_secrets is missing: the dispatch cannot read the project URL and the service key'::text,
          'create extension if not exists supabase_vault; -- Supabase Vault, part of every Supabase project'::text;
        reported := reported + 1;
      else
        foreach secret_name in array array[settings.project_url_secret, settings.service_key_secret] loop
          execute 'select count(*) from vault.decrypted_secrets as s where s.name = $1 and coalesce(s.decrypted_secret, '''') <> '''''
            into secret_count using secret_name;
          if secret_count = 0 then
            return query select 'error'::text, 'schedule_prerequisites'::text, format('Vault secret %s', secret_name),
              format('the schedule is on but Vault holds no secret named %s (embeddings.dispatch_settings.%s): every run records a dispatch that was not sent',
                secret_name,
                case when secret_name = settings.project_url_secret then 'project_url_secret' else 'service_key_secret' end),
              format('select vault.create_secret(%L, %L);',
                case when secret_name = settings.project_url_secret
                  then 'https://<project-ref>.supabase.co' else '<service_role key>' end,
                secret_name);
            reported := reported + 1;
          end if;
        end loop;
      end if;
      if reported = 0 then
        return query select 'ok'::text, 'schedule_prerequisites'::text, null::text,
          format('the schedule is on and has what it needs: pg_cron with the job embeddings-dispatch active, net.http_post, and the Vault secrets %s and %s',
            settings.project_url_secret, settings.service_key_secret),
          null::text;
      end if;
    end if;
  exception when others then
    return query select 'error'::text, 'schedule_prerequisites'::text, null::text,
      format('the check could not run: %s', sqlerrm), could_not_run_fix;
  end;

  -- ===========================================================================================
  -- service_key_kind: the key the dispatch sends must be a service credential. A publishable key
  -- or an anon JWT gets a 403 from the embed function on every run. The secret is never printed.
  -- ===========================================================================================
  begin
    key_value := null;
    if settings.singleton is not null and pg_catalog.to_regclass('vault.decrypted_secrets') is not null then
      execute 'select s.decrypted_secret from vault.decrypted_secrets as s where s.name = $1 limit 1'
        into key_value using settings.service_key_secret;
    end if;
    fix := format(
      'select vault.update_secret(s.id, %L) from vault.secrets as s where s.name = %L; -- the service_role key (or an sb_secret_ key) from Project Settings > API Keys',
      '<service_role key>', settings.service_key_secret);
    if key_value is null or key_value = '' then
      return query select 'ok'::text, 'service_key_kind'::text, null::text,
        format('no Vault secret named %s to check', coalesce(settings.service_key_secret, '(no settings)')),
        null::text;
    elsif key_value like 'sb\_publishable\_%' then
      return query select 'error'::text, 'service_key_kind'::text, format('Vault secret %s', settings.service_key_secret),
        format('Vault secret %s holds a publishable key (sb_publishable_...), a client key: the embed function refuses it on every run',
          settings.service_key_secret),
        fix;
    elsif key_value like 'sb\_secret\_%' then
      return query select 'ok'::text, 'service_key_kind'::text, null::text,
        format('Vault secret %s holds a secret key (sb_secret_...), a service credential', settings.service_key_secret),
        null::text;
    elsif key_value ~ '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$' then
      -- A JWT: its payload is base64url JSON; the role claim says whose key it is.
      payload_part := pg_catalog.translate(pg_catalog.split_part(key_value, '.', 2), '-_', '+/');
      payload_part := payload_part || pg_catalog.repeat('=', (4 - pg_catalog.length(payload_part) % 4) % 4);
      begin
        jwt_role := pg_catalog.convert_from(pg_catalog.decode(payload_part, 'base64'), 'UTF8')::jsonb ->> 'role';
      exception when others then
        jwt_role := null;
        payload_part := null;
      end;
      if payload_part is null then
        return query select 'error'::text, 'service_key_kind'::text, format('Vault secret %s', settings.service_key_secret),
          format('Vault secret %s looks like a JWT but its payload is not base64url JSON: the embed function refuses it',
            settings.service_key_secret),
          fix;
      elsif jwt_role is distinct from 'service_role' then
        return query select 'error'::text, 'service_key_kind'::text, format('Vault secret %s', settings.service_key_secret),
          format('Vault secret %s holds a JWT whose role is %s, not service_role (an anon key, or a user''s token): the embed function answers 403 on every run',
            settings.service_key_secret, coalesce(pg_catalog.quote_literal(jwt_role), 'missing')),
          fix;
      else
        return query select 'ok'::text, 'service_key_kind'::text, null::text,
          format('Vault secret %s holds a JWT with role service_role', settings.service_key_secret),
          null::text;
      end if;
    else
      return query select 'error'::text, 'service_key_kind'::text, format('Vault secret %s', settings.service_key_secret),
        format('Vault secret %s holds neither a JWT nor an sb_secret_ key: the embed function refuses it',
          settings.service_key_secret),
        fix;
    end if;
  exception when others then
    return query select 'error'::text, 'service_key_kind'::text, null::text,
      format('the check could not run: %s', sqlerrm), could_not_run_fix;
  end;

  -- ===========================================================================================
  -- dispatch_failures: invocations of the last day that failed, timed out or were not sent; an
  -- error when the latest finished one did (the schedule is not working now)
  -- ===========================================================================================
  begin
    select count(*),
           count(*) filter (where d.outcome in ('failed', 'timed out', 'not sent')),
           count(*) filter (where d.outcome = 'failed'),
           count(*) filter (where d.outcome = 'timed out'),
           count(*) filter (where d.outcome = 'not sent')
      into dispatches_last_day, failures_last_day, failed_count, timed_out_count, not_sent_count
      from embeddings.dispatches as d
      where d.sent_at > pg_catalog.now() - interval '1 day';
    if failures_last_day = 0 then
      return query select 'ok'::text, 'dispatch_failures'::text, null::text,
        'no scheduled dispatch failed, timed out or went unsent in the last day'::text, null::text;
    else
      select d.error into last_failure_error from embeddings.dispatches as d
        where d.outcome in ('failed', 'timed out', 'not sent') and d.sent_at > pg_catalog.now() - interval '1 day'
        order by d.id desc limit 1;
      select d.outcome, coalesce(d.finished_at, d.sent_at) into last_finished_outcome, last_finished_at
        from embeddings.dispatches as d
        where d.outcome <> 'in flight' and d.sent_at > pg_catalog.now() - interval '1 day'
        order by d.id desc limit 1;
      return query select
        case when last_finished_outcome in ('failed', 'timed out', 'not sent') then 'error' else 'warning' end,
        'dispatch_failures'::text, 'embeddings.dispatches'::text,
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
        end;
    end if;
  exception when others then
    return query select 'error'::text, 'dispatch_failures'::text, null::text,
      format('the check could not run: %s', sqlerrm), could_not_run_fix;
  end;

  -- ===========================================================================================
  -- time_budget: one invocation must finish within the platform's limit for a request
  -- ===========================================================================================
  begin
    if settings.singleton is null then
      return query select 'ok'::text, 'time_budget'::text, null::text,
        'no dispatch settings, so no time budget to check'::text, null::text;
    elsif settings.time_budget_ms > platform_time_limit_ms then
      return query select 'error'::text, 'time_budget'::text, 'embeddings.dispatch_settings.time_budget_ms'::text,
        format('time_budget_ms is %s, over %s ms: Supabase ends an Edge Function request idle for 150 s, and the Free plan''s wall clock is 150 s (paid plans allow 400 s, but the idle timeout still applies), so invocations are cut off mid-batch',
          settings.time_budget_ms, platform_time_limit_ms),
        'update embeddings.dispatch_settings set time_budget_ms = 50000; -- the default; at most 150000, and below request_timeout_ms'::text;
    else
      return query select 'ok'::text, 'time_budget'::text, null::text,
        format('the dispatch''s time budget (%s ms) is within Supabase''s %s ms limit for a request',
          settings.time_budget_ms, platform_time_limit_ms),
        null::text;
    end if;
  exception when others then
    return query select 'error'::text, 'time_budget'::text, null::text,
      format('the check could not run: %s', sqlerrm), could_not_run_fix;
  end;

  -- ===========================================================================================
  -- target_broken: a registered target whose table, vector column, content function or sync
  -- triggers changed under it
  -- ===========================================================================================
  begin
    reported := 0;
    for registered in select * from embeddings.targets as t order by t.id loop
      registered := embeddings._target_by_id(registered.id);  -- follows a renamed table
      broken_reason := null;
      fix := null;
      register_call := format(
        'select embeddings.unregister_target(%s); select embeddings.register_target(%L, %L, %L, %L, %L, %s, %s, %L);',
        registered.id, format('%I.%I', registered.table_schema, registered.table_name), registered.key_column,
        registered.content_function, registered.embedding_column, registered.model, registered.dimensions,
        registered.max_attempts, registered.name);
      -- What is broken, and its fix, is said in one place.
      broken_reason := embeddings._broken_reason(registered);
      if broken_reason is not null then
        fix := pg_catalog.split_part(broken_reason, '; fix: ', 2);
        broken_reason := pg_catalog.split_part(broken_reason, '; fix: ', 1);
      else
        table_oid := pg_catalog.to_regclass(format('%I.%I', registered.table_schema, registered.table_name));
        if broken_reason is null then
          select pg_catalog.string_agg(format('%I', expected.trigger_name), ', ' order by expected.trigger_name)
            into broken_reason
            from (values ('embeddings_queue_' || registered.id), ('embeddings_requeue_' || registered.id),
                         ('embeddings_forget_' || registered.id), ('embeddings_truncate_' || registered.id))
              as expected(trigger_name)
            where not exists (
              select 1 from pg_catalog.pg_trigger as tr
              where tr.tgrelid = table_oid and tr.tgname = expected.trigger_name and tr.tgenabled <> 'D');
          if broken_reason is not null then
            broken_reason := format('its sync trigger %s is missing or disabled on %I.%I: changed rows are no longer queued',
              broken_reason, registered.table_schema, registered.table_name);
            fix := register_call || ' -- registers it again with its triggers (or alter table ... enable trigger ... for a disabled one)';
          end if;
        end if;
      end if;
      if broken_reason is not null then
        level := 'error';
        check_name := 'target_broken';
        subject := registered.name;
        finding := format('target %s (id %s): %s', registered.name, registered.id, broken_reason);
        return next;
        reported := reported + 1;
      end if;
    end loop;
    if reported = 0 then
      return query select 'ok'::text, 'target_broken'::text, null::text,
        format('every registered target (%s) has its table, vector column of the model''s dimensions, content function and sync triggers',
          (select count(*) from embeddings.targets)),
        null::text;
    end if;
  exception when others then
    return query select 'error'::text, 'target_broken'::text, null::text,
      format('the check could not run: %s', sqlerrm), could_not_run_fix;
  end;
end;
$$;
comment on function embeddings.doctor() is
  'Checks the database for the seed''s failure modes, each with its fix: rls_disabled (a table in an exposed schema without RLS), client_can_write_vector and client_write_silently_filtered (anon or authenticated able to write a target''s vector column, or silently filtered when they try), definer_search_path and definer_client_executable (SECURITY DEFINER functions without a fixed search_path or callable by clients), vector_in_public, schedule_prerequisites (pg_cron, pg_net, Vault and its secrets when the schedule is on), service_key_kind (the Vault key is a service credential, not an anon or publishable key), dispatch_failures, time_budget (within the platform''s 150 s) and target_broken. One ok row per check that passes; one error or warning row per finding with the SQL that fixes it. Never raises: a check that cannot run is an error row.';
