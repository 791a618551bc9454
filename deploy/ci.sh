#!/bin/sh
# Build the feeds and publish them: the steps of deploy/github-actions.yml, for any CI or cron.
#
#   deploy/ci.sh DEST          DEST: s3://bucket/prefix or a folder (default: $FEEDS_DEST)
#
# Run it from the folder that holds the settings file. Environment:
#   FEEDS_SETTINGS     settings file (default: settings.yaml)
#   FEEDS_OUTPUT       where to build (default: public)
#   FEEDS_SOURCE       what pip installs feeds from (default: the checkout this script is in)
#   FEEDS_VENV         the virtual environment to install into (default: .venv-deploy)
#   FEEDS_ALLOW_RISKY  1: publish even when feeds diff finds risky changes
#   FEEDS_PUBLISH_ARGS more options for feeds publish, e.g. --delete
#   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION, AWS_ENDPOINT_URL: the store
set -eu

dest=${1:-${FEEDS_DEST:-}}
if [ -z "$dest" ]; then
    echo "usage: $0 DEST (s3://bucket/prefix or a folder), or set FEEDS_DEST" >&2
    exit 2
fi
settings=${FEEDS_SETTINGS:-settings.yaml}
output=${FEEDS_OUTPUT:-public}
source=${FEEDS_SOURCE:-$(cd "$(dirname "$0")/.." && pwd)}
venv=${FEEDS_VENV:-.venv-deploy}

echo "== install"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet "$source[s3]"
feeds="$venv/bin/feeds"

echo "== feeds check"
"$feeds" check --settings "$settings"

echo "== feeds build"
"$feeds" build --settings "$settings" --output "$output" --quiet

echo "== feeds fetch (the last published output)"
previous=$(mktemp -d)
trap 'rm -rf "$previous"' EXIT
"$feeds" fetch "$dest" "$previous"

echo "== feeds diff"
status=0
"$feeds" diff "$previous" "$output" --quiet || status=$?
if [ "$status" -eq 1 ]; then
    if [ "${FEEDS_ALLOW_RISKY:-0}" = 1 ]; then
        echo "ci.sh: risky changes above, published anyway (FEEDS_ALLOW_RISKY=1)" >&2
    else
        echo "ci.sh: risky changes above: not published (set FEEDS_ALLOW_RISKY=1 to publish)" >&2
        exit 1
    fi
elif [ "$status" -ne 0 ]; then
    exit "$status"
fi

echo "== feeds publish"
# shellcheck disable=SC2086 # FEEDS_PUBLISH_ARGS is a list of options
"$feeds" publish "$dest" --settings "$settings" --output "$output" ${FEEDS_PUBLISH_ARGS:-}
