-- Members give users other than the owner access to a project.

create table if not exists public.project_members (
    id          uuid primary key default gen_random_uuid(),
    project_id  uuid not null references public.projects (id) on delete cascade,
    user_id     uuid not null references auth.users (id) on delete cascade,
    role        text not null default 'viewer'
                check (role in ('viewer', 'maintainer', 'admin')),
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now(),
    unique (project_id, user_id)
);

-- RLS policies look members up by user, so index that side too
-- (the unique constraint already covers lookups by project_id).
create index if not exists project_members_user_id_idx
    on public.project_members (user_id);

create trigger project_members_set_updated_at
    before update on public.project_members
    for each row
    execute function public.set_updated_at();
