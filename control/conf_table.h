/*
 * conf_table.h - every configuration key ferry reads, in one declarative X-macro list
 * (STYLE rule 11; librdkafka's rd_kafka_properties shape). conf.c builds the table, the
 * validator and the accessors from it; `ferryctl config docs` prints it. Nothing else lists
 * keys, so the reference cannot drift from what the parser accepts.
 *
 *   _(NAME, TYPE, SCOPE, FLAGS, DEFAULT, MIN, MAX, ENUMS, ALT, DESCRIPTION)
 *
 * NAME is the key without its alias or flow prefix; SCOPE says which prefixes it takes
 * (CONF_G: KEY, CONF_F: SRC->DST.KEY, CONF_C: ALIAS.KEY). DEFAULT is text as it would be
 * written in the file (NULL: none). MIN > MAX (written 1, 0): no range. MM2 defaults are
 * those of Kafka 3.x's MirrorSourceConfig / MirrorCheckpointConfig / MirrorHeartbeatConfig /
 * MirrorConnectorConfig (kafka.apache.org generated mirror_*_config pages).
 *
 * Included by conf.c only; no thread or state of its own.
 */
#ifndef FERRY_CONF_TABLE_H
#define FERRY_CONF_TABLE_H

#include <stdint.h>

#define CONF_G  FERRY_CONF_SC_GLOBAL
#define CONF_F  FERRY_CONF_SC_FLOW
#define CONF_C  FERRY_CONF_SC_CLUSTER
#define CONF_GF (FERRY_CONF_SC_GLOBAL | FERRY_CONF_SC_FLOW)
#define CONF_GC (FERRY_CONF_SC_GLOBAL | FERRY_CONF_SC_CLUSTER)
#define CONF_I32 INT32_MAX
#define CONF_I64 INT64_MAX

#define CONF_PKG "org.apache.kafka.connect.mirror."

/* clang-format off */
#define FERRY_CONF_FOREACH_KEY(_)                                                                  \
/* ---- clusters and flows (MirrorMakerConfig) ---- */                                             \
_("clusters", LIST, CONF_G, FERRY_CONF_F_REQUIRED, NULL, 1, 0, NULL, NULL,                      \
  "Cluster aliases, comma-separated. Every ordered pair of them is a possible flow SRC->DST.")     \
_("bootstrap.servers", HOSTPORTS, CONF_C, 0, NULL, 1, 0, NULL, NULL,                           \
  "Brokers of the cluster ALIAS (host:port, comma-separated). Required for every cluster an "     \
  "enabled flow uses.")                                                                           \
_("enabled", BOOL, CONF_F, 0, "false", 1, 0, NULL, NULL,                                       \
  "Replicate from SRC to DST. Flows are off unless enabled.")                                    \
/* ---- what to replicate (MirrorSourceConfig, MirrorCheckpointConfig) ---- */                    \
_("topics", LIST, CONF_GF, FERRY_CONF_F_REGEX, ".*", 1, 0, NULL, NULL,                          \
  "Topics to replicate: comma-separated names or Java regexes, matched against the whole name.")  \
_("topics.exclude", LIST, CONF_GF, FERRY_CONF_F_REGEX, ".*[\\-\\.]internal,.*\\.replica,__.*",     \
  1, 0, NULL, NULL, "Topics never replicated (regexes); excludes win over topics.")            \
_("groups", LIST, CONF_GF, FERRY_CONF_F_REGEX, ".*", 1, 0, NULL, NULL,                          \
  "Consumer groups whose offsets are checkpointed (regexes).")                                    \
_("groups.exclude", LIST, CONF_GF, FERRY_CONF_F_REGEX, "console-consumer-.*,connect-.*,__.*",      \
  1, 0, NULL, NULL, "Consumer groups never checkpointed (regexes); excludes win.")             \
_("topics.blacklist", LIST, CONF_GF, FERRY_CONF_F_DEPRECATED, NULL, 1, 0, NULL,                 \
  "topics.exclude", "Old MM2 name. ferry does not read it, so that nothing is replicated that "   \
  "was meant to be excluded: rename it.")                                                         \
_("groups.blacklist", LIST, CONF_GF, FERRY_CONF_F_DEPRECATED, NULL, 1, 0, NULL,                 \
  "groups.exclude", "Old MM2 name; rename it.")                                                   \
_("topics.whitelist", LIST, CONF_GF, FERRY_CONF_F_DEPRECATED, NULL, 1, 0, NULL, "topics",       \
  "Old MM2 name; rename it.")                                                                     \
_("groups.whitelist", LIST, CONF_GF, FERRY_CONF_F_DEPRECATED, NULL, 1, 0, NULL, "groups",       \
  "Old MM2 name; rename it.")                                                                     \
_("config.properties.exclude", LIST, CONF_GF, FERRY_CONF_F_REGEX,                                  \
  "follower\\.replication\\.throttled\\.replicas,leader\\.replication\\.throttled\\.replicas,"    \
  "message\\.timestamp\\.difference\\.max\\.ms,message\\.timestamp\\.type,"                        \
  "unclean\\.leader\\.election\\.enable,min\\.insync\\.replicas", 1, 0, NULL, NULL,              \
  "Topic configs not copied to the remote topic (regexes).")                                      \
/* ---- naming (ReplicationPolicy) ---- */                                                        \
_("replication.policy.class", CLASS, CONF_GF, 0, CONF_PKG "DefaultReplicationPolicy", 1, 0,    \
  CONF_PKG "DefaultReplicationPolicy|" CONF_PKG "IdentityReplicationPolicy", NULL,                \
  "Remote topic naming: Default prefixes the source alias (london.orders); Identity keeps the "   \
  "name, and a topic the reverse flow wrote (its offset-syncs say so) is never sent back.")       \
_("replication.policy.separator", STRING, CONF_GF, 0, ".", 1, 64, NULL, NULL,                      \
  "Separator between the source alias and the topic name (Default policy), 1-64 bytes.")          \
_("replication.policy.internal.topic.separator.enabled", BOOL, CONF_GF, 0, "true", 1, 0, NULL,  \
  NULL, "Use the separator in internal topic names too (mm2-offset-syncs.DST.internal).")         \
/* ---- topic config and ACL sync ---- */                                                         \
_("sync.topic.configs.enabled", BOOL, CONF_GF, 0, "true", 1, 0, NULL, NULL,                     \
  "Copy topic configs to the remote topic.")                                                      \
_("sync.topic.configs.interval.seconds", SECONDS, CONF_GF, 0, "600", 1, CONF_I32, NULL, NULL,      \
  "How often topic configs are copied.")                                                          \
_("sync.topic.acls.enabled", BOOL, CONF_GF, 0, "true", 1, 0, NULL, NULL,                        \
  "Copy topic ACLs (read-only on the remote topic, as MM2 does).")                                \
_("sync.topic.acls.interval.seconds", SECONDS, CONF_GF, 0, "600", 1, CONF_I32, NULL, NULL,         \
  "How often topic ACLs are copied.")                                                             \
_("refresh.topics.enabled", BOOL, CONF_GF, 0, "true", 1, 0, NULL, NULL,                         \
  "Look for new topics and partitions on the source.")                                            \
_("refresh.topics.interval.seconds", SECONDS, CONF_GF, 0, "600", 1, CONF_I32, NULL, NULL,          \
  "How often the source is searched for new topics and partitions.")                              \
_("refresh.groups.enabled", BOOL, CONF_GF, 0, "true", 1, 0, NULL, NULL,                         \
  "Look for new consumer groups on the source.")                                                  \
_("refresh.groups.interval.seconds", SECONDS, CONF_GF, 0, "600", 1, CONF_I32, NULL, NULL,          \
  "How often the source is searched for new consumer groups.")                                    \
/* ---- offsets, checkpoints, heartbeats ---- */                                                  \
_("offset-syncs.topic.location", ENUM, CONF_GF, 0, "source", 1, 0, "source|target", NULL,       \
  "Cluster holding the offset-syncs topic.")                                                      \
_("sync.group.offsets.enabled", BOOL, CONF_GF, 0, "false", 1, 0, NULL, NULL,                    \
  "Commit translated offsets on DST for groups not active there.")                                \
_("sync.group.offsets.interval.seconds", SECONDS, CONF_GF, 0, "60", 1, CONF_I32, NULL, NULL,       \
  "How often translated group offsets are committed on DST.")                                     \
_("emit.checkpoints.enabled", BOOL, CONF_GF, 0, "true", 1, 0, NULL, NULL,                       \
  "Write checkpoints (SRC.checkpoints.internal on DST).")                                         \
_("emit.checkpoints.interval.seconds", SECONDS, CONF_GF, 0, "60", 1, CONF_I32, NULL, NULL,         \
  "How often checkpoints are written.")                                                           \
_("emit.heartbeats.enabled", BOOL, CONF_GF, 0, "true", 1, 0, NULL, NULL,                        \
  "Write heartbeats; replication latency and link health are measured from them.")                \
_("emit.heartbeats.interval.seconds", SECONDS, CONF_GF, 0, "1", 1, CONF_I32, NULL, NULL,           \
  "How often heartbeats are written.")                                                            \
_("replication.factor", INT, CONF_GF, FERRY_CONF_F_MINUS1, "2", 1, INT16_MAX, NULL, NULL,          \
  "Replication factor of remote topics ferry creates (-1: the broker's default).")                \
_("checkpoints.topic.replication.factor", INT, CONF_GF, FERRY_CONF_F_MINUS1, "3", 1, INT16_MAX,    \
  NULL, NULL, "Replication factor of the checkpoints topic.")                                     \
_("heartbeats.topic.replication.factor", INT, CONF_GF, FERRY_CONF_F_MINUS1, "3", 1, INT16_MAX,     \
  NULL, NULL, "Replication factor of the heartbeats topic.")                                      \
_("offset-syncs.topic.replication.factor", INT, CONF_GF, FERRY_CONF_F_MINUS1, "3", 1, INT16_MAX,   \
  NULL, NULL, "Replication factor of the offset-syncs topic.")                                    \
_("admin.timeout.ms", MS, CONF_GF, 0, "60000", 1, CONF_I32, NULL, NULL,                            \
  "Timeout of admin requests (topic creation, config and ACL sync).")                             \
_("topic.filter.class", CLASS, CONF_GF, 0, CONF_PKG "DefaultTopicFilter", 1, 0,                 \
  CONF_PKG "DefaultTopicFilter", NULL, "Only MM2's default filter (topics, topics.exclude).")     \
_("group.filter.class", CLASS, CONF_GF, 0, CONF_PKG "DefaultGroupFilter", 1, 0,                 \
  CONF_PKG "DefaultGroupFilter", NULL, "Only MM2's default filter (groups, groups.exclude).")     \
_("config.property.filter.class", CLASS, CONF_GF, 0, CONF_PKG "DefaultConfigPropertyFilter",       \
  1, 0, CONF_PKG "DefaultConfigPropertyFilter", NULL,                                          \
  "Only MM2's default filter (config.properties.exclude).")                                       \
/* ---- per-cluster client settings, passed to librdkafka ---- */                                 \
_("security.protocol", ENUM, CONF_GC, 0, "PLAINTEXT", 1, 0,                                     \
  "PLAINTEXT|SSL|SASL_PLAINTEXT|SASL_SSL", NULL,                                                  \
  "How ferry talks to the brokers of ALIAS (without a prefix: every cluster).")                   \
_("ssl.", PASSTHRU, CONF_GC, FERRY_CONF_F_PREFIX, NULL, 1, 0, NULL, "ssl.ca.location",          \
  "TLS client settings for ALIAS, translated to librdkafka (JKS truststores have no "             \
  "equivalent: use PEM files with ssl.ca.location, ssl.certificate.location, "                    \
  "ssl.key.location, or a PKCS#12 ssl.keystore.location).")                                       \
_("sasl.", PASSTHRU, CONF_GC, FERRY_CONF_F_PREFIX, NULL, 1, 0, NULL, NULL,                      \
  "SASL settings for ALIAS. sasl.jaas.config with PlainLoginModule or ScramLoginModule becomes "  \
  "sasl.username/sasl.password; sasl.mechanism becomes sasl.mechanisms.")                         \
_("consumer.", PASSTHRU, CONF_C, FERRY_CONF_F_PREFIX, NULL, 1, 0, NULL, NULL,                   \
  "Settings for the consumers ferry runs on ALIAS (librdkafka names; Java names translated "      \
  "where they differ).")                                                                          \
_("producer.", PASSTHRU, CONF_C, FERRY_CONF_F_PREFIX, NULL, 1, 0, NULL, NULL,                   \
  "Settings for the producers ferry runs on ALIAS.")                                              \
_("admin.", PASSTHRU, CONF_C, FERRY_CONF_F_PREFIX, NULL, 1, 0, NULL, NULL,                      \
  "Settings for the admin client ferry runs on ALIAS.")                                           \
/* ---- MM2 keys ferry accepts and ignores ---- */                                                \
_("tasks.max", INT, CONF_GF, FERRY_CONF_F_IGNORED, "1", 1, CONF_I32, NULL, "ferry.lcores.worker",  \
  "Connect task count: ferry's parallelism is its lcores.")                                       \
_("offset.lag.max", LONG, CONF_GF, FERRY_CONF_F_IGNORED, "100", 0, CONF_I64, NULL, NULL,           \
  "ferry writes an offset-sync for every replicated batch, so translation is exact.")             \
_("emit.offset-syncs.enabled", BOOL, CONF_GF, FERRY_CONF_F_IGNORED, "true", 1, 0, NULL, NULL,   \
  "ferry always writes offset-syncs: exact translation and resume depend on them.")               \
_("consumer.poll.timeout.ms", MS, CONF_GF, FERRY_CONF_F_IGNORED, "1000", 0, CONF_I32, NULL, NULL,  \
  "Connect task polling; ferry's fetchers are driven by its own loop.")                           \
_("exactly.once.support", STRING, CONF_G, FERRY_CONF_F_IGNORED, NULL, 1, 0, NULL,               \
  "ferry.exactly.once", "Connect worker setting.")                                                \
_("key.converter", STRING, CONF_G, FERRY_CONF_F_IGNORED, NULL, 1, 0, NULL, NULL,                \
  "Connect converter: ferry copies bytes.")                                                       \
_("value.converter", STRING, CONF_G, FERRY_CONF_F_IGNORED, NULL, 1, 0, NULL, NULL,              \
  "Connect converter: ferry copies bytes.")                                                       \
_("header.converter", STRING, CONF_G, FERRY_CONF_F_IGNORED, NULL, 1, 0, NULL, NULL,             \
  "Connect converter: ferry copies bytes.")                                                       \
_("key.converter.", STRING, CONF_G, FERRY_CONF_F_IGNORED | FERRY_CONF_F_PREFIX, NULL, 1, 0,     \
  NULL, NULL, "Connect converter settings.")                                                      \
_("value.converter.", STRING, CONF_G, FERRY_CONF_F_IGNORED | FERRY_CONF_F_PREFIX, NULL, 1, 0,   \
  NULL, NULL, "Connect converter settings.")                                                      \
_("config.storage.", STRING, CONF_G, FERRY_CONF_F_IGNORED | FERRY_CONF_F_PREFIX, NULL, 1, 0,    \
  NULL, NULL, "Connect worker internal topics: ferry keeps no Connect state.")                    \
_("offset.storage.", STRING, CONF_G, FERRY_CONF_F_IGNORED | FERRY_CONF_F_PREFIX, NULL, 1, 0,    \
  NULL, NULL, "Connect worker internal topics: ferry resumes from offset-syncs.")                 \
_("status.storage.", STRING, CONF_G, FERRY_CONF_F_IGNORED | FERRY_CONF_F_PREFIX, NULL, 1, 0,    \
  NULL, NULL, "Connect worker internal topics.")                                                  \
_("dedicated.mode.", STRING, CONF_G, FERRY_CONF_F_IGNORED | FERRY_CONF_F_PREFIX, NULL, 1, 0,    \
  NULL, NULL, "MM2 dedicated-mode REST settings.")                                                \
_("offset.flush.", STRING, CONF_G, FERRY_CONF_F_IGNORED | FERRY_CONF_F_PREFIX, NULL, 1, 0,      \
  NULL, NULL, "Connect offset commit settings.")                                                  \
_("errors.", STRING, CONF_G, FERRY_CONF_F_IGNORED | FERRY_CONF_F_PREFIX, NULL, 1, 0, NULL,      \
  NULL, "Connect error handling.")                                                                \
_("transforms", STRING, CONF_G, FERRY_CONF_F_IGNORED | FERRY_CONF_F_PREFIX, NULL, 1, 0, NULL,   \
  "ferry.rules.file", "Connect SMTs: ferry's record rules are in its rules file.")               \
_("plugin.path", STRING, CONF_G, FERRY_CONF_F_IGNORED, NULL, 1, 0, NULL, NULL,                  \
  "Connect plugins.")                                                                             \
_("metric.reporters", STRING, CONF_G, FERRY_CONF_F_IGNORED, NULL, 1, 0, NULL,                   \
  "ferry.metrics.port", "JMX reporters: ferry serves Prometheus metrics.")                       \
_("replication.policy.", STRING, CONF_G, FERRY_CONF_F_IGNORED | FERRY_CONF_F_PREFIX, NULL,         \
  1, 0, NULL, NULL, "Custom replication policy settings.")                                     \
_("name", STRING, CONF_GF, FERRY_CONF_F_IGNORED, NULL, 1, 0, NULL, NULL, "Connector name.")     \
_("connector.class", STRING, CONF_GF, FERRY_CONF_F_IGNORED, NULL, 1, 0, NULL, NULL,             \
  "Connector class.")                                                                             \
_("source.cluster.alias", STRING, CONF_GF, FERRY_CONF_F_IGNORED, NULL, 1, 0, NULL, NULL,        \
  "Connector setting; flows come from SRC->DST.enabled.")                                         \
_("target.cluster.alias", STRING, CONF_GF, FERRY_CONF_F_IGNORED, NULL, 1, 0, NULL, NULL,        \
  "Connector setting; flows come from SRC->DST.enabled.")                                         \
_("sync.topic.acls.", STRING, CONF_G, FERRY_CONF_F_IGNORED | FERRY_CONF_F_PREFIX, NULL, 1, 0,   \
  NULL, NULL, "ACL filter settings beyond enabled/interval.")                                     \
_("heartbeats.topic.retention.ms", MS, CONF_GF, FERRY_CONF_F_IGNORED, NULL, 0, CONF_I64, NULL,     \
  NULL, "Internal topics are created with the brokers' defaults.")                                \
_("checkpoints.topic.retention.ms", MS, CONF_GF, FERRY_CONF_F_IGNORED, NULL, 0, CONF_I64, NULL,    \
  NULL, "Internal topics are created with the brokers' defaults.")                                \
_("add.source.alias.to.metrics", BOOL, CONF_GF, FERRY_CONF_F_IGNORED, NULL, 1, 0, NULL, NULL,   \
  "ferry's metrics always name both clusters.")                                                   \
/* ---- ferry's own keys: the gateway ---- */                                                     \
_("ferry.role", ENUM, CONF_G, 0, NULL, 1, 0, "source|target", NULL,                             \
  "Which end of the WAN this gateway is: source fetches and sends, target receives and "          \
  "produces. ferryd --role overrides it.")                                                        \
_("ferry.lcore.control", INT, CONF_G, 0, "0", 0, 1023, NULL, NULL,                                 \
  "lcore of the control thread (metadata, offsets, checkpoints, the WAN TLS channel).")          \
_("ferry.lcores.io", LCORES, CONF_G, 0, "1", 0, 1023, NULL, NULL,                                  \
  "lcores that own the broker connections, one io_uring each (ids and ranges: 1,2,4-7).")        \
_("ferry.lcores.worker", LCORES, CONF_G, 0, "2", 0, 1023, NULL, NULL,                              \
  "lcores that apply the rules and run the WAN transport, each polling at most one WAN queue "    \
  "(DESIGN §5). No lcore may have two roles.")                                                    \
_("ferry.queue.depth", INT, CONF_G, FERRY_CONF_F_POW2, "4096", 64, 65536, NULL, NULL,              \
  "Entries of each ring between io and worker lcores (a power of two).")                          \
_("ferry.poll.mode", ENUM, CONF_G, 0, "busy", 1, 0, "busy|idle", NULL,                          \
  "busy: spin (production); idle: sleep when nothing arrives (development, CI, VMs).")           \
_("ferry.mempool.mbufs", INT, CONF_G, 0, "65535", 1023, 16777215, NULL, NULL,                      \
  "mbufs in each NUMA node's packet pool (2^n-1 packs best).")                                    \
_("ferry.hugepages", ENUM, CONF_G, 0, "auto", 1, 0, "auto|on|off", NULL,                        \
  "auto: use hugepages when mounted, else run with --no-huge and say so; on: fail without them.") \
_("ferry.metrics.port", INT, CONF_G, 0, "9464", 0, 65535, NULL, NULL,                              \
  "TCP port of the Prometheus /metrics endpoint; 0 turns it off.")                                \
_("ferry.rules.file", STRING, CONF_GF, 0, NULL, 1, 0, NULL, NULL,                               \
  "Policy rules file (YAML, `ferryctl rules check`); unset: replicate records unchanged. Per "    \
  "flow, so each direction can have its own policy.")                                             \
/* ---- ferry's own keys: the WAN transport ---- */                                               \
_("ferry.wan.ports", DEVARGS, CONF_G, 0, NULL, 1, 0, NULL, NULL,                                \
  "DPDK ports for the WAN, ';'-separated devargs: a PCI address (0000:3b:00.0) or a vdev "        \
  "(net_tap0,iface=ferry0), each with optional ,key=value driver arguments.")                     \
_("ferry.wan.queues", INT, CONF_G, 0, "1", 1, 16, NULL, NULL,                                      \
  "RX/TX queue pairs per WAN port, one worker per queue (at most the 16 WAN lanes).")            \
_("ferry.wan.queue.map", QMAP, CONF_G, 0, NULL, 1, 0, NULL, "ferry.lcores.worker",              \
  "Which worker lcore polls which queue: \"port:queue@lcore\", comma-separated; unset: queues "   \
  "are spread over ferry.lcores.worker in order.")                                                \
_("ferry.wan.local.ip", IPV4, CONF_G, 0, NULL, 1, 0, NULL, NULL,                                \
  "This gateway's WAN address.")                                                                  \
_("ferry.wan.peer.ip", IPV4, CONF_G, 0, NULL, 1, 0, NULL, NULL,                                 \
  "The other gateway's WAN address; packets from any other source are dropped.")                 \
_("ferry.wan.udp.port", INT, CONF_G, 0, "9440", 1, 65535, NULL, NULL,                              \
  "UDP port of the data channel, both ends.")                                                     \
_("ferry.wan.control.bind", STRING, CONF_G, 0, NULL, 1, 0, NULL, NULL,                          \
  "Kernel address the target gateway's TLS control channel listens on; unset: "                  \
  "ferry.wan.local.ip. The channel is kernel TCP, so this is a host address, not the DPDK port's.") \
_("ferry.wan.control.peer", STRING, CONF_G, 0, NULL, 1, 0, NULL, NULL,                          \
  "Kernel address (or host name) the source gateway connects its TLS control channel to; unset: " \
  "ferry.wan.peer.ip.")                                                                           \
_("ferry.wan.control.port", INT, CONF_G, 0, "9441", 1, 65535, NULL, NULL,                          \
  "TCP port of the TLS 1.3 control channel (keys, acks of commits), both ends.")                  \
_("ferry.wan.mtu", INT, CONF_G, 0, "1500", 1500, 9000, NULL, NULL,                                 \
  "IP MTU of the WAN path; above 1500 needs jumbo frames end to end (a memif port: "           \
  "bsize=9216 in ferry.wan.ports at 9000).")                                                        \
_("ferry.wan.rx.desc", INT, CONF_G, FERRY_CONF_F_POW2, "1024", 64, 32768, NULL, NULL,            \
  "RX descriptors per WAN queue (a power of two within the NIC's limit; hw/nics). Each holds "    \
  "an mbuf, so it enters ferry.mempool.mbufs (ferry-hwcheck --memory).")                           \
_("ferry.wan.tx.desc", INT, CONF_G, FERRY_CONF_F_POW2, "1024", 64, 32768, NULL, NULL,            \
  "TX descriptors per WAN queue (a power of two within the NIC's limit; hw/nics).")               \
_("ferry.wan.flow.control", ENUM, CONF_G, 0, "off", 1, 0, "off|rx|tx|full", NULL,              \
  "Ethernet pause frames on the WAN ports. off: ferry paces and recovers loss itself, and a "     \
  "pause from the WAN router would stall every lane of the port.")                                \
_("ferry.wan.rate.mbps", LONG, CONF_G, 0, "0", 0, 400000, NULL, NULL,                              \
  "Pacing ceiling in Mbit/s; the rate estimate never exceeds it. 0: the port's line rate.")      \
_("ferry.wan.fec", FEC, CONF_G, 0, "off", 1, 0, NULL, NULL,                                     \
  "Forward error correction: off, or DATA+PARITY packets per group (2..64 + 1..8), e.g. 16+2.")   \
_("ferry.wan.tls.cert", STRING, CONF_G, 0, NULL, 1, 0, NULL, NULL,                              \
  "PEM certificate this gateway presents on the control channel.")                                \
_("ferry.wan.tls.key", STRING, CONF_G, 0, NULL, 1, 0, NULL, NULL,                               \
  "PEM private key of ferry.wan.tls.cert.")                                                       \
_("ferry.wan.tls.ca", STRING, CONF_G, 0, NULL, 1, 0, NULL, NULL,                                \
  "PEM CA bundle the peer's certificate must chain to (mutual authentication).")                  \
_("ferry.wan.rekey.seconds", SECONDS, CONF_G, 0, "3600", 10, 86400, NULL, NULL,                    \
  "Derive new packet keys after this long.")                                                      \
_("ferry.wan.rekey.packets", LONG, CONF_G, 0, "4294967296", 1048576, 4294967296, NULL, NULL,       \
  "Derive new packet keys after this many packets per direction (AES-GCM limit 2^32).")           \
/* ---- ferry's own keys: the broker data path ---- */                                            \
_("ferry.exactly.once", BOOL, CONF_GF, 0, "false", 1, 0, NULL, NULL,                            \
  "Produce on the target in transactions with the offset-syncs (needs read_committed).")          \
_("ferry.fetch.max.bytes", SIZE, CONF_GF, 0, "52428800", 1024, 1073741824, NULL, NULL,             \
  "Largest Fetch response ferry asks a source broker for.")                                       \
_("ferry.fetch.partition.max.bytes", SIZE, CONF_GF, 0, "1048576", 1024, 1073741824, NULL, NULL,    \
  "Largest amount per partition in one Fetch.")                                                   \
_("ferry.fetch.wait.max.ms", INT, CONF_GF, 0, "500", 0, 30000, NULL, NULL,                      \
  "Fetch MaxWaitMs of the data path (librdkafka's fetch.wait.max.ms): how long a broker may "    \
  "hold a Fetch that found no data. Kafka answers as soon as data arrives; librdkafka's mock "    \
  "cluster cannot and holds every empty Fetch this long.")                                         \
_("ferry.fetch.isolation.level", ENUM, CONF_GF, 0, "read_committed", 1, 0,                      \
  "read_uncommitted|read_committed", NULL,                                                        \
  "read_committed: aborted transactions are never replicated.")                                   \
_("ferry.producer.max.in.flight", INT, CONF_GF, 0, "5", 1, 5, NULL, NULL,                          \
  "Produce requests in flight per target partition (idempotence keeps order up to 5).")           \
/* ---- ferry's own keys: several gateway pairs per flow ---- */                                   \
_("ferry.group.id", STRING, CONF_GF, 0, NULL, 1, 0, NULL, NULL,                                  \
  "Several gateway pairs of one flow share its partitions through this consumer group on the "   \
  "source cluster (used for the assignment only: the data path does the fetching). Set it on "   \
  "both gateways of every pair. Unset: this pair replicates every partition.")                     \
_("ferry.group.session.timeout.ms", INT, CONF_GF, 0, "10000", 3000, 300000, NULL, NULL,          \
  "How long a source gateway that vanished (kill -9, host down) keeps its partitions before the " \
  "group gives them to the others.")
/* clang-format on */

#endif /* FERRY_CONF_TABLE_H */
