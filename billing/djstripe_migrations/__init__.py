"""dj-stripe's schema as one migration, owned by us (settings.MIGRATION_MODULES).

dj-stripe ships ~60 historical migrations whose planning alone takes over a
minute of CPU on every fresh database (each `make run` from a clean clone,
each test database). No Creator database ever ran them, so we start from the
models' current state instead. After upgrading dj-stripe, run
`python manage.py makemigrations djstripe` to add the upstream changes here;
`makemigrations --check` in `make test` fails until that is done.
"""
