-- Row level security: PostgREST exposes the public schema to browsers, so
-- every table must decide per row who may see or change it.

alter table public.projects enable row level security;
alter table public.project_members enable row level security;

-- security definer so the membership lookup is not itself subject to RLS on
-- project_members (which would recurse). search_path is pinned for safety.
create or replace function public.is_project_member(p_project_id uuid)
returns boolean
language plpgsql
stable
security definer
set search_path = public
as $$
begin
    return exists (
        select 1
        from public.project_members m
        where m.project_id = p_project_id
          and m.user_id = auth.uid()
    );
end;
$$;

create policy "Public projects are readable by anyone"
    on public.projects for select
    to anon, authenticated
    using (visibility = 'public');

create policy "Owners and members can read their projects"
    on public.projects for select
    to authenticated
    using (owner_id = auth.uid() or public.is_project_member(id));

create policy "Users can create projects they own"
    on public.projects for insert
    to authenticated
    with check (owner_id = auth.uid());

create policy "Owners can update their projects"
    on public.projects for update
    to authenticated
    using (owner_id = auth.uid())
    with check (owner_id = auth.uid());

create policy "Owners can delete their projects"
    on public.projects for delete
    to authenticated
    using (owner_id = auth.uid());

create policy "Members can see who else is on their projects"
    on public.project_members for select
    to authenticated
    using (user_id = auth.uid() or public.is_project_member(project_id));

create policy "Project owners manage members"
    on public.project_members for all
    to authenticated
    using (exists (
        select 1 from public.projects p
        where p.id = project_id and p.owner_id = auth.uid()
    ))
    with check (exists (
        select 1 from public.projects p
        where p.id = project_id and p.owner_id = auth.uid()
    ));

-- Privileges are the outer gate, RLS the inner one: anon may only read.
grant select on public.projects to anon;
grant select, insert, update, delete on public.projects to authenticated;
grant select, insert, update, delete on public.project_members to authenticated;
grant all on public.projects, public.project_members to service_role;
grant execute on function public.is_project_member(uuid) to anon, authenticated, service_role;
