-- Projects are the top-level object in codewarden: one per repository.

create table if not exists public.projects (
    id          uuid primary key default gen_random_uuid(),
    slug        text not null unique
                check (slug ~ '^[a-z0-9](-?[a-z0-9])+$' and char_length(slug) between 3 and 40),
    name        text not null,
    visibility  text not null default 'private'
                check (visibility in ('private', 'public')),
    -- Deleting the owner's account must not silently orphan projects.
    owner_id    uuid not null references auth.users (id) on delete restrict,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now()
);

comment on table public.projects is 'Repositories tracked by codewarden.';

-- The dashboard lists "my projects" on every page load.
create index if not exists projects_owner_id_idx on public.projects (owner_id);

-- Keep updated_at honest without relying on every client to set it.
create or replace function public.set_updated_at()
returns trigger
language plpgsql
as $$
begin
    new.updated_at := now();
    return new;
end;
$$;

create trigger projects_set_updated_at
    before update on public.projects
    for each row
    execute function public.set_updated_at();
