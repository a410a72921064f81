# Stand-in for the official nginx image, made without a registry: Debian's nginx package (1.22 on
# bookworm; the stacks name nginx 1.29). SUITE picks the Debian suite (a newer nginx from
# trixie or sid, when the Debian mirror has it).
# Copies of the official image: /docker-entrypoint.sh renders /etc/nginx/templates/*.template
# into /etc/nginx/conf.d with envsubst, substituting only the variables that are set and match
# NGINX_ENVSUBST_FILTER; a default server (the welcome page) in conf.d/default.conf; access and
# error logs go to the container's stdout/stderr; `nginx -g 'daemon off;'`; stops on SIGQUIT
# (graceful). Differs: Debian's build and modules (workers run as `nobody` unless nginx.conf
# sets `user`; the official build defaults to `nginx`), no IPv6 listener added to default.conf,
# no local-resolver or worker-tuning entrypoint scripts.
ARG BASE=minitwit-standin/debian:bookworm
FROM ${BASE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends nginx gettext-base \
 && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/* \
 && mkdir -p /etc/nginx/templates /etc/nginx/conf.d /var/cache/nginx \
 && ln -sf /dev/stdout /var/log/nginx/access.log \
 && ln -sf /dev/stderr /var/log/nginx/error.log
COPY nginx-default.conf /etc/nginx/conf.d/default.conf
COPY nginx-entrypoint.sh /docker-entrypoint.sh
EXPOSE 80
STOPSIGNAL SIGQUIT
ENTRYPOINT ["/docker-entrypoint.sh"]
CMD ["nginx", "-g", "daemon off;"]
