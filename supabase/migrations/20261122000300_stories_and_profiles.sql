-- =============================================================================================
-- APP: stories and profiles, the seed's second system, as embedding targets
-- =============================================================================================
-- Users manage their own rows through RLS but can never write an embedding; the worker fills
-- every user's embeddings. A story is long text (a few paragraphs, thousands of characters), so
-- stories are a chunked target: each story is cut into chunks, whose vectors live in the engine's
-- chunk table embedding_chunks.stories, never in public.stories; no story is ever cut short. A
-- profile's preferences are short: one vector per row, in its column.

-- =============================================================================================
-- Stories
-- =============================================================================================
create table public.stories (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  title text not null,
  body text not null default '',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.stories is
  'Stories users write; a chunked embedding target: the worker cuts title and body into chunks, whose vectors (384 dims) live in embedding_chunks.stories.';
create index stories_user_id_idx on public.stories (user_id);

create trigger stories_set_updated_at
  before update of title, body on public.stories
  for each row execute function public.set_updated_at();

alter table public.stories enable row level security;
-- Clients may write only the text; the chunks and their vectors are the worker's.
revoke insert, update, delete, truncate on public.stories from anon, authenticated;
grant select on public.stories to authenticated;
grant insert (title, body) on public.stories to authenticated;
grant update (title, body) on public.stories to authenticated;
grant delete on public.stories to authenticated;
revoke all on public.stories from anon;

create policy "Users can view their own stories"
  on public.stories for select to authenticated
  using ((select auth.uid()) = user_id);
comment on policy "Users can view their own stories" on public.stories is
  'A signed-in user reads only the stories they wrote.';
create policy "Users can create their own stories"
  on public.stories for insert to authenticated
  with check ((select auth.uid()) = user_id);
comment on policy "Users can create their own stories" on public.stories is
  'A signed-in user can add stories only under their own id.';
create policy "Users can update their own stories"
  on public.stories for update to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);
comment on policy "Users can update their own stories" on public.stories is
  'A signed-in user edits only their own stories (and only title and body: column grants).';
create policy "Users can delete their own stories"
  on public.stories for delete to authenticated
  using ((select auth.uid()) = user_id);
comment on policy "Users can delete their own stories" on public.stories is
  'A signed-in user deletes only their own stories.';

create or replace function public.story_content(story public.stories)
returns text
language sql immutable set search_path = ''
-- begin atomic: the sync trigger compares the columns it reads (see music_knowledge_content).
begin atomic
  select story.title || E'\n\n' || story.body;
end;
comment on function public.story_content(public.stories) is
  'The text embedded for a story: its title, a blank line, its body.';
revoke execute on function public.story_content(public.stories) from public, anon, authenticated;
-- The search reads a story's text as its caller (current vector or stale): only signed-in users read stories.
grant execute on function public.story_content(public.stories) to authenticated, service_role;

-- =============================================================================================
-- Profiles
-- =============================================================================================
create table public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  display_name text,
  preferences text not null default '',
  preference_embedding extensions.vector(384),
  updated_at timestamptz not null default now()
);
comment on table public.profiles is
  'One profile per user; preference_embedding (384 dims) is filled by the embedding worker from preferences.';
create index profiles_preference_embedding_hnsw_idx
  on public.profiles using hnsw (preference_embedding extensions.vector_cosine_ops);

create trigger profiles_set_updated_at
  before update of display_name, preferences on public.profiles
  for each row execute function public.set_updated_at();

alter table public.profiles enable row level security;
revoke insert, update, delete, truncate on public.profiles from anon, authenticated;
revoke all on public.profiles from anon;
grant select on public.profiles to authenticated;
grant insert (id, display_name, preferences) on public.profiles to authenticated;
grant update (display_name, preferences) on public.profiles to authenticated;

create policy "Users can view their own profile"
  on public.profiles for select to authenticated
  using ((select auth.uid()) = id);
comment on policy "Users can view their own profile" on public.profiles is
  'A signed-in user reads only their own profile.';
create policy "Users can create their own profile"
  on public.profiles for insert to authenticated
  with check ((select auth.uid()) = id);
comment on policy "Users can create their own profile" on public.profiles is
  'A signed-in user creates only the profile with their own id.';
create policy "Users can update their own profile"
  on public.profiles for update to authenticated
  using ((select auth.uid()) = id)
  with check ((select auth.uid()) = id);
comment on policy "Users can update their own profile" on public.profiles is
  'A signed-in user edits only their own profile (and only display_name and preferences: column grants).';

create or replace function public.profile_preferences_content(profile public.profiles)
returns text
language sql immutable set search_path = ''
begin atomic
  select profile.preferences;
end;
comment on function public.profile_preferences_content(public.profiles) is
  'The text embedded for a profile: the user''s stated preferences.';
revoke execute on function public.profile_preferences_content(public.profiles) from public, anon, authenticated;
-- The search reads a profile's text as its caller (current vector or stale): only signed-in users read profiles.
grant execute on function public.profile_preferences_content(public.profiles) to authenticated, service_role;


-- =============================================================================================
-- Register both (the default model: gte-small on Supabase; see embeddings.default_model)
-- =============================================================================================
-- Stories are chunked with the engine's default chunking (embeddings.default_chunking(): sizes
-- measured by deno task eval --long, docs/chunking.md); no embedding column, so null.
select embeddings.register_target(
  'public.stories', 'id', 'public.story_content(public.stories)', null, embeddings.default_model(), 384,
  chunking => embeddings.default_chunking());
select embeddings.register_target(
  'public.profiles', 'id', 'public.profile_preferences_content(public.profiles)',
  'preference_embedding', embeddings.default_model(), 384);
