#!/usr/bin/env bash
# What the container layer (tests/containers) needs besides the image equivalents that
# vllm.sh, litellm.sh and litemaas.sh install: Debian's PostgreSQL server (stand-in for the sclorg
# image), nginx (for the UBI nginx image), envsubst (the frontend entrypoint), iproute2/util-linux
# (network and mount namespaces, setpriv, nsenter), curl and openssl.
. "$(dirname "$0")/common.sh"
apt_install postgresql-15 postgresql-client-15 nginx-light gettext-base iproute2 util-linux curl openssl >/dev/null
