#!/bin/sh
# The official nginx image's template rendering, for the stand-in (see nginx.Dockerfile).
set -eu
if [ "${1:-}" = nginx ]; then
  dir="${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}"
  out="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}"
  suffix="${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}"
  filter="${NGINX_ENVSUBST_FILTER:-}"
  # Only variables that are set (and match the filter) are replaced; others stay as written.
  vars=$(env | cut -d= -f1 | grep -E "${filter:-.}" | sed 's/^/${/; s/$/}/' | tr '\n' ' ')
  if [ -d "$dir" ]; then
    find "$dir" -follow -type f -name "*$suffix" | while read -r template; do
      relative="${template#"$dir"/}"
      target="$out/${relative%"$suffix"}"
      mkdir -p "$(dirname "$target")"
      echo "docker-entrypoint: rendering $template to $target" >&2
      envsubst "$vars" <"$template" >"$target"
    done
  fi
fi
exec "$@"
