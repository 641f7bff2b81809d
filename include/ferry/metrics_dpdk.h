/*
 * ferry/metrics_dpdk.h - DPDK telemetry commands over the metrics registry (DESIGN §8):
 *
 *   /ferry/metrics          every series, as one dict key -> value
 *   /ferry/metric,<name>    the series of one family (metric name), same shape
 *
 * e.g. `echo /ferry/metric,ferry_records_in_total | dpdk-telemetry.py -f <file-prefix>`.
 *
 * Keys. DPDK 22.11 accepts only [A-Za-z0-9_/] in dict keys (rte_tel_data_add_dict_* returns
 * -EINVAL otherwise) of at most RTE_TEL_MAX_STRING_LEN - 1 = 127 bytes, so the Prometheus
 * spelling name{k="v"} cannot be a key. Labels are folded with '/' instead:
 *   ferry_records_in_total{topic="orders.eu",partition="3"}
 *     -> ferry_records_in_total/partition/3/topic/orders_eu
 * (labels sorted by name, every byte of a name or value outside [A-Za-z0-9_] becomes '_').
 * A key longer than 127 bytes, or equal to a key already in the reply (two label values that
 * differ only in replaced bytes), is cut to 117 bytes and ends in "__" + 8 hex digits of the
 * 32-bit FNV-1a hash of the exact series (name, then each label name and value, each preceded
 * by a NUL byte), so keys stay unique and stable. The exact series are in the
 * Prometheus endpoint and ferry_metrics_render_json().
 *
 * Values: integral values in [0, 2^64) are numbers (u64), negative integers down to INT_MIN
 * are numbers (int), anything else (fractions, NaN, +Inf) is a string such as "0.25".
 *
 * Size: a reply holds at most RTE_TEL_MAX_DICT_ENTRIES (256) entries and 16 KiB of JSON
 * (DPDK 22.11's max_output_len). When the series do not fit, the reply ends with the key
 * "ferry_metrics_truncated" = number of series left out; ask for one family with
 * /ferry/metric to see the rest.
 *
 * Threads: telemetry callbacks run on DPDK's telemetry thread and render the registry with
 * its lock. DPDK 22.11 callbacks carry no user argument, so one registry per process is
 * bound to the commands at a time.
 */
#ifndef FERRY_METRICS_DPDK_H
#define FERRY_METRICS_DPDK_H

#include "ferry/metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FERRY_METRICS_TEL_ALL "/ferry/metrics"
#define FERRY_METRICS_TEL_ONE "/ferry/metric"

/**
 * Bind m to the telemetry commands, registering them on the first call (before or after
 * rte_eal_init). 0 (also when m is already bound), -EBUSY when another registry is bound,
 * -EINVAL, or the error of rte_telemetry_register_cmd. @locality control thread.
 */
int ferry_metrics_telemetry_register(struct ferry_metrics *m);

/**
 * Unbind m (no-op if m is not the bound registry): the commands answer null from then on,
 * and a reply in progress is finished before this returns, so m may be freed next. DPDK 22.11
 * cannot unregister commands.
 */
void ferry_metrics_telemetry_unregister(struct ferry_metrics *m);

#ifdef __cplusplus
}
#endif

#endif /* FERRY_METRICS_DPDK_H */
