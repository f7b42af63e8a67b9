-- Extensions the embedding kit needs, installed in the `extensions` schema as Supabase recommends
-- (the database advisor flags extensions in `public`).

create schema if not exists extensions;
create extension if not exists vector with schema extensions;
