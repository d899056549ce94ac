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

# As testkit waits for its cluster: the state is ok, every node sees half the nodes as replicas
# (a replica's role reaches the others by gossip, after the create returns), and every replica's
# link to its primary is up (its first sync is done).
formed() {
  [ "$(field cluster_state)" = "ok" ] || return 1
  for node in $nodes; do
    seen=$(redis-cli -h "${node%:*}" -p "${node##*:}" cluster nodes | awk '$3 ~ /(^|,)slave(,|$)/ && $3 !~ /fail/ { n++ } END { print n + 0 }')
    [ "$seen" = "$((count / 2))" ] || return 1
    if redis-cli -h "${node%:*}" -p "${node##*:}" info replication | grep -q '^role:slave'; then
      redis-cli -h "${node%:*}" -p "${node##*:}" info replication | grep -q '^master_link_status:up' || return 1
    fi
  done
}

if [ "$(field cluster_known_nodes)" = "$count" ]; then
  echo "redis-cluster-init: $first already knows all $count nodes; not creating again"
else
  # shellcheck disable=SC2086 # one argument per node
  redis-cli --cluster create $nodes --cluster-replicas 1 --cluster-yes
fi

waited=0
until formed; do
  if [ "$waited" -ge "$timeout" ]; then
    echo "redis-cluster-init: the cluster is not formed after ${timeout} s (cluster_state $(field cluster_state)); if the nodes came back on new addresses, \`docker compose --profile cluster down\` and remove the redis-node-*-data volumes" >&2
    exit 1
  fi
  sleep 1
  waited=$((waited + 1))
done
echo "redis-cluster-init: cluster_state ok, $(field cluster_slots_ok) slots served by $((count / 2)) primaries, $((count / 2)) replicas in sync"
