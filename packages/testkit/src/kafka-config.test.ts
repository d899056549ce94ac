import { describe, expect, it } from "vitest";
import {
  brokerJvmArgs,
  KAFKA_BROKER_SETTINGS,
  KAFKA_CLUSTER_SETTINGS,
  kafkaEnvName,
  newClusterId,
  parseProperties,
  renderLog4jProperties,
  renderProperties,
  renderServerProperties,
} from "./kafka-config";

const layout = { host: "127.0.0.1", port: 39092, controllerPort: 39093, logDir: "/tmp/k/data" };

describe("renderServerProperties", () => {
  it("describes a combined broker+controller KRaft node on the given ports", () => {
    const props = parseProperties(renderServerProperties(layout));
    expect(props).toMatchObject({
      "process.roles": "broker,controller",
      "node.id": "1",
      "controller.quorum.voters": "1@127.0.0.1:39093",
      listeners: "PLAINTEXT://127.0.0.1:39092,CONTROLLER://127.0.0.1:39093",
      "advertised.listeners": "PLAINTEXT://127.0.0.1:39092",
      "controller.listener.names": "CONTROLLER",
      "log.dirs": "/tmp/k/data",
    });
  });

  it("carries the single-node settings tests rely on", () => {
    const props = parseProperties(renderServerProperties(layout));
    expect(props["offsets.topic.replication.factor"]).toBe("1");
    expect(props["transaction.state.log.replication.factor"]).toBe("1");
    expect(props["transaction.state.log.min.isr"]).toBe("1");
    expect(props["group.initial.rebalance.delay.ms"]).toBe("0");
    expect(props["num.partitions"]).toBe("3");
    expect(props["auto.create.topics.enable"]).toBe("true");
    for (const [key, value] of Object.entries(KAFKA_BROKER_SETTINGS)) expect(props[key]).toBe(value);
  });

  it("rejects bad ports, naming the field", () => {
    expect(() => renderServerProperties({ ...layout, port: 0 })).toThrow(/^port: expected a port/);
    expect(() => renderServerProperties({ ...layout, controllerPort: 70000 })).toThrow(/^controllerPort:/);
    expect(() => renderServerProperties({ ...layout, controllerPort: 39092 })).toThrow(/^controllerPort: must differ/);
    expect(() => renderServerProperties({ ...layout, logDir: "" })).toThrow(/^logDir:/);
  });
});

describe("properties text", () => {
  it("escapes backslashes and newlines so values round-trip", () => {
    const settings = { "a.path": "C:\\kafka\\logs", multi: "one\ntwo", plain: "x=y:z" };
    const text = renderProperties(settings);
    expect(text).toBe("a.path=C:\\\\kafka\\\\logs\nmulti=one\\ntwo\nplain=x=y:z\n");
    expect(parseProperties(text)).toEqual(settings);
  });

  it("sends the broker log to a file, nothing to the console", () => {
    const props = parseProperties(renderLog4jProperties("/tmp/k/broker.log"));
    expect(props["log4j.rootLogger"]).toBe("INFO, file");
    expect(props["log4j.appender.file.File"]).toBe("/tmp/k/broker.log");
    expect(Object.values(props)).not.toContain("org.apache.log4j.ConsoleAppender");
  });
});

describe("cluster ids, env names and JVM flags", () => {
  it("makes 22-character URL-safe cluster ids, different each time", () => {
    const ids = new Set(Array.from({ length: 2000 }, () => newClusterId()));
    expect(ids.size).toBe(2000);
    // Never a leading "-": StorageTool would take it for an option (1 in 64 ids would).
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  });

  it("maps broker keys to the apache/kafka image's variables", () => {
    expect(kafkaEnvName("offsets.topic.replication.factor")).toBe("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR");
    expect(kafkaEnvName("num.partitions")).toBe("KAFKA_NUM_PARTITIONS");
    expect(() => kafkaEnvName("listener.name.x_y")).toThrow(/^key:/);
  });

  it("bounds the heap and points log4j at the config file", () => {
    expect(brokerJvmArgs({ log4jFile: "/tmp/k/log4j.properties" })).toEqual(
      expect.arrayContaining(["-Xmx512m", "-Xms128m", "-Dlog4j.configuration=file:/tmp/k/log4j.properties"]),
    );
    expect(brokerJvmArgs({ log4jFile: "/x", maxHeapMb: 96 })).toEqual(expect.arrayContaining(["-Xmx96m", "-Xms96m"]));
  });
});

describe("a cluster node's properties", () => {
  it("names the quorum's voters and takes the cluster's settings over the single node's", () => {
    const props = parseProperties(
      renderServerProperties({ host: "127.0.0.1", port: 9092, controllerPort: 9093, logDir: "/tmp/k", nodeId: 2, voters: "1@127.0.0.1:9093,2@127.0.0.1:9095,3@127.0.0.1:9097", overrides: KAFKA_CLUSTER_SETTINGS }),
    );
    expect(props["node.id"]).toBe("2");
    expect(props["controller.quorum.voters"]).toBe("1@127.0.0.1:9093,2@127.0.0.1:9095,3@127.0.0.1:9097");
    expect(props["offsets.topic.replication.factor"]).toBe("3");
    expect(props["min.insync.replicas"]).toBe("2");
    expect(props["default.replication.factor"]).toBe("3");
    // The single node keeps its own.
    expect(parseProperties(renderServerProperties({ host: "127.0.0.1", port: 9092, controllerPort: 9093, logDir: "/tmp/k" }))["offsets.topic.replication.factor"]).toBe("1");
  });
});
