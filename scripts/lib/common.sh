# shellcheck shell=bash
# Helpers shared by scripts/ensure-deps, scripts/doctor, scripts/services-up and services-down.
# Source it; it defines functions and REPO_ROOT only.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export COMPOSE_PROJECT_NAME="${COMPOSE_PROJECT_NAME:-mlsd-lab}"

have() { command -v "$1" > /dev/null 2>&1; }

# A docker client binary is not enough: the engine has to answer. MLSD_INFRA=local skips Docker.
docker_engine_answers() {
  [[ "${MLSD_INFRA:-auto}" != "local" ]] || return 1
  have docker || return 1
  timeout 5 docker info --format '{{.ServerVersion}}' > /dev/null 2>&1
}

# "docker compose" (v2 plugin) when present, else Debian's docker-compose (v1).
compose() {
  if have docker && docker compose version > /dev/null 2>&1; then
    docker compose -f "$REPO_ROOT/docker-compose.yml" "$@"
  elif have docker-compose; then
    docker-compose -f "$REPO_ROOT/docker-compose.yml" "$@"
  else
    echo "neither 'docker compose' nor docker-compose is installed (bash scripts/ensure-deps)" >&2
    return 127
  fi
}

# Major version of the java on PATH (or JAVA_HOME), empty when there is none.
java_major() {
  local java="java"
  [[ -n "${JAVA_HOME:-}" ]] && java="$JAVA_HOME/bin/java"
  have "$java" || return 0
  "$java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\)\(\.[^"]*\)\{0,1\}".*/\1/p' | head -n 1
}

node_major() {
  have node || return 0
  node -p 'process.versions.node.split(".")[0]'
}

tsx_bin() {
  local bin="$REPO_ROOT/node_modules/.bin/tsx"
  if [[ ! -x "$bin" ]]; then
    echo "node_modules is missing: run npm install in $REPO_ROOT first" >&2
    return 1
  fi
  printf '%s\n' "$bin"
}
