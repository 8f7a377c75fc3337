#!/bin/sh
# First start of the database only (docker-entrypoint-initdb.d): the application's roles.
# wadesk_app is the group the migrations grant row access to (they create it too, when it is missing);
# wadesk_api is the login the API and workers use: a member of wadesk_app, not an owner, no BYPASSRLS.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v app_password="$WADESK_DB_APP_PASSWORD" <<'SQL'
CREATE ROLE wadesk_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
CREATE ROLE wadesk_api LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD :'app_password' IN ROLE wadesk_app;
SQL
