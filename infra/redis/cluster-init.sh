#!/bin/sh
# The compose cluster profile's one-shot `redis-cluster-init`: joins the six nodes into three
# primaries with one replica each, with the command @mlsd/testkit's startRedisCluster runs
# (`redis-cli --cluster create ... --cluster-replicas 1 --cluster-yes`), then waits for the
# cluster to serve every slot. The nodes keep their cluster state on their volumes, so on a later
# `up` the first node already knows all six and the create is skipped.
set -eu

nodes=$(printf '%s' "${REDIS_CLUSTER_NODES:?REDIS_CLUSTER_NODES: the nodes as host:port,host:port,...}" | tr ',' ' ')
count=$(printf '%s\n' $nodes | wc -l)
first=$(printf '%s\n' $nodes | head -n 1)
host=${first%:*}
port=${first##*:}
timeout=${CLUSTER_READY_TIMEOUT_S:-60}

field() {
  redis-cli -h "$host" -p "$port" cluster info | tr -d '\r' | sed -n "s/^$1://p"
}

if [ "$(field cluster_known_nodes)" = "$count" ]; then
  echo "redis-cluster-init: $first already knows all $count nodes; not creating again"
else
  # shellcheck disable=SC2086 # one argument per node
  redis-cli --cluster create $nodes --cluster-replicas 1 --cluster-yes
fi

waited=0
until [ "$(field cluster_state)" = "ok" ]; do
  if [ "$waited" -ge "$timeout" ]; then
    echo "redis-cluster-init: the cluster is not ok after ${timeout} s (cluster_state $(field cluster_state)); if the nodes came back on new addresses, \`docker compose --profile cluster down\` and remove the redis-node-*-data volumes" >&2
    exit 1
  fi
  sleep 1
  waited=$((waited + 1))
done
echo "redis-cluster-init: cluster_state ok, $(field cluster_slots_ok) slots served by $count nodes"
