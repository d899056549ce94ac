#!/usr/bin/env bash
# Resolves the Apache Kafka broker's jars (infra/kafka/pom.xml) from Maven Central into a cache
# folder outside the repository, once. Used by scripts/ensure-deps and, on first use, by
# @mlsd/testkit. The folder must match kafkaLibsDirFrom() in packages/testkit/src/env.ts.
#
#   bash scripts/lib/kafka-libs.sh              resolve if missing
#   bash scripts/lib/kafka-libs.sh --print-dir  print the folder and exit
#   bash scripts/lib/kafka-libs.sh --check      exit 0 when present, 1 when missing
set -euo pipefail

KAFKA_VERSION=3.9.1
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
pom="$repo_root/infra/kafka/pom.xml"

kafka_libs_dir() {
  if [[ -n "${MLSD_KAFKA_LIBS:-}" ]]; then
    printf '%s\n' "$MLSD_KAFKA_LIBS"
  else
    printf '%s\n' "${XDG_CACHE_HOME:-${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}/.cache}/mlsd-lab/kafka-$KAFKA_VERSION/libs"
  fi
}

libs_present() {
  [[ -f "$1/.complete" ]] && compgen -G "$1/kafka_2.13-*.jar" > /dev/null
}

libs="$(kafka_libs_dir)"
case "${1:-}" in
  --print-dir) printf '%s\n' "$libs"; exit 0 ;;
  --check) libs_present "$libs"; exit $? ;;
  "") ;;
  *) echo "usage: $0 [--print-dir|--check]" >&2; exit 2 ;;
esac

if libs_present "$libs"; then
  exit 0
fi

command -v mvn > /dev/null || { echo "kafka-libs: Maven (mvn) is needed: apt-get install -y maven" >&2; exit 1; }

# Resolve into a fresh folder and rename it into place, so a concurrent or interrupted run never
# leaves a half-filled folder that looks complete.
parent="$(dirname "$libs")"
mkdir -p "$parent"
staging="$(mktemp -d "$parent/libs.staging.XXXXXX")"
trap 'rm -rf "$staging" "$staging.log"' EXIT
echo "kafka-libs: resolving org.apache.kafka:kafka_2.13:$KAFKA_VERSION with Maven into $libs"
if ! mvn -q -B -Dstyle.color=never -f "$pom" -Dkafka.libs.dir="$staging" dependency:copy-dependencies > "$staging.log" 2>&1; then
  cat "$staging.log" >&2
  exit 1
fi
compgen -G "$staging/kafka_2.13-$KAFKA_VERSION.jar" > /dev/null || { echo "kafka-libs: kafka_2.13-$KAFKA_VERSION.jar missing after Maven" >&2; exit 1; }
touch "$staging/.complete"
if libs_present "$libs"; then
  exit 0 # another run finished first
fi
rm -rf "$libs"
mv "$staging" "$libs"
rm -f "$staging.log"
trap - EXIT
echo "kafka-libs: $(find "$libs" -name '*.jar' | wc -l) jars in $libs"
