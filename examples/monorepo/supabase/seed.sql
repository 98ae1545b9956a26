-- Local development data, loaded by `supabase db reset`.
-- auth.users rows are normally created by GoTrue; insert a fixed user so the
-- projects below have a valid owner.

insert into auth.users (id, instance_id, aud, role, email, encrypted_password, email_confirmed_at, created_at, updated_at)
values (
    '00000000-0000-0000-0000-00000000c0de',
    '00000000-0000-0000-0000-000000000000',
    'authenticated', 'authenticated', 'dev@codewarden.test',
    crypt('password', gen_salt('bf')), now(), now(), now()
)
on conflict (id) do nothing;

insert into public.projects (slug, name, visibility, owner_id)
values
    ('codewarden', 'codewarden', 'private', '00000000-0000-0000-0000-00000000c0de'),
    ('gantry-demo', 'gantry demo', 'public', '00000000-0000-0000-0000-00000000c0de')
on conflict (slug) do nothing;
