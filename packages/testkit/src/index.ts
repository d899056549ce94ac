// Real Redis and Kafka for tests, on any machine: REDIS_URL / KAFKA_BROKERS when the runner gives
// them, else testcontainers when a Docker engine answers, else local redis-server and a Kafka
// broker run from its Maven Central jars.
export type { InfraSource, StartOptions, RedisHandle, KafkaHandle } from "./types";
export { startRedis, startKafka } from "./start";
export { startRedisCluster, startKafkaCluster, connectRedisCluster, parseClusterNodes, REDIS_NODE_TIMEOUT_MS, type RedisClusterHandle, type RedisClusterNode, type KafkaClusterHandle } from "./clusters";
export { TestkitError, type TestkitErrorCode } from "./errors";
export { KAFKA_BROKER_SETTINGS, KAFKA_CLUSTER_SETTINGS, kafkaEnvName } from "./kafka-config";
export { REDIS_IMAGE, KAFKA_IMAGE } from "./containers";
export { freePort, freePorts } from "./free-port";
export { waitFor } from "./probes";
export { ServiceProcesses, type ServiceProcess } from "./service-processes";
export { startLoadBalancer, haproxyConfig, type LoadBalancedService, type LoadBalancerOptions, type LoadBalancerHandle } from "./load-balancer";
