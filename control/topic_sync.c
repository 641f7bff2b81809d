/*
 * topic_sync.c - MM2's topic config sync and topic ACL sync for a flow, librdkafka side
 * (MirrorSourceConnector.syncTopicConfigs / syncTopicAcls): DescribeConfigs on the source
 * topics -> AlterConfigs on the remote topics, DescribeAcls (TOPIC) on the source ->
 * CreateAcls on the target. What is copied and how is decided in mm2_sync.c (pure, unit
 * tested); this file only moves it between the clusters.
 *
 * Control thread only; every admin call blocks for at most admin_timeout(). Run at topic
 * creation (topics.c) and every sync.topic.{configs,acls}.interval.seconds (ferryd's control
 * thread). librdkafka 2.0.2's mock cluster implements none of these APIs: each kind degrades
 * to one warning per flow naming the cluster and the API, and is tried again only when its
 * interval comes round.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/common.h"
#include "mm2.h"
#include "mm2_sync.h"

/* Metadata sync is best effort and runs on the control thread (at a gateway's first session
 * too): a cluster answers these in milliseconds, one without the API (the mock) should not
 * hold the gateway for the flow's whole timeout per call. */
static int
admin_timeout(const struct ferry_mm2_flow *f)
{
	return f->timeout_ms < 3000 ? f->timeout_ms : 3000;
}

/* A queue and options for one admin request on rk (the previous ones, if any, freed). */
static void
admin_prepare(const struct ferry_mm2_flow *f, rd_kafka_t *rk, rd_kafka_admin_op_t op,
	      rd_kafka_queue_t **q, rd_kafka_AdminOptions_t **ao)
{
	if (*ao)
		rd_kafka_AdminOptions_destroy(*ao);
	if (*q)
		rd_kafka_queue_destroy(*q);
	*q = rd_kafka_queue_new(rk);
	*ao = rd_kafka_AdminOptions_new(rk, op);
	rd_kafka_AdminOptions_set_request_timeout(*ao, admin_timeout(f), NULL, 0);
}

/* One admin request's outcome: the event (caller destroys) or a timeout. */
static rd_kafka_event_t *
admin_call_wait(rd_kafka_queue_t *q, int timeout_ms, rd_kafka_resp_err_t *e, const char **estr)
{
	rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms + 1000);
	*e = ev ? rd_kafka_event_error(ev) : RD_KAFKA_RESP_ERR__TIMED_OUT;
	*estr = ev && *e ? rd_kafka_event_error_string(ev) : rd_kafka_err2str(*e);
	return ev;
}

/* Map a request-level failure: -ENOTSUP when the cluster lacks the API (or an authorizer,
 * for ACLs), else -EIO. The message names cluster and API either way. */
static int
admin_fail(const char *cluster, const char *api, rd_kafka_resp_err_t e, const char *estr, char *err,
	   size_t errlen)
{
	snprintf(err, errlen, "cluster %s: %s: %s", cluster, api,
		 estr ? estr : rd_kafka_err2str(e));
	if (ferry_mm2_admin_unsupported(e) || e == RD_KAFKA_RESP_ERR_SECURITY_DISABLED)
		return -ENOTSUP;
	return -EIO;
}

/* ---- configs ------------------------------------------------------------------------------ */

/* DescribeConfigs of the source topics, AlterConfigs of their remote topics (one request
 * each for all topics). */
static int
sync_configs(struct ferry_mm2_flow *f, const struct ferry_mm2_topic *t, size_t nt,
	     struct ferry_topic_meta_round *res, char *err, size_t errlen)
{
	rd_kafka_t *src = ferry_mm2_client(f, f->source, FERRY_MM2_READER, err, errlen);
	rd_kafka_t *dst =
	    src ? ferry_mm2_client(f, f->target, FERRY_MM2_READER, err, errlen) : NULL;
	rd_kafka_ConfigResource_t **desc = NULL, **alt = NULL;
	rd_kafka_queue_t *q = NULL;
	rd_kafka_AdminOptions_t *ao = NULL;
	rd_kafka_event_t *ev = NULL, *aev = NULL;
	rd_kafka_resp_err_t e;
	const char *estr;
	size_t nd = 0, na = 0;
	int rc = 0;

	if (dst == NULL)
		return -EIO;
	desc = calloc(nt ? nt : 1, sizeof(*desc));
	alt = calloc(nt ? nt : 1, sizeof(*alt));
	if (desc == NULL || alt == NULL) {
		rc = ferry_errf(-ENOMEM, err, errlen, "out of memory");
		goto out_free;
	}
	for (size_t i = 0; i < nt; i++)
		if (t[i].remote_partitions >= 0 &&
		    (desc[nd] = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, t[i].name)))
			nd++;
	res->topics = nd;
	if (nd == 0)
		goto out_free;

	if ((rc = ferry_mm2_need_controller(src, f->source, "DescribeConfigs", err, errlen)) != 0)
		goto out_free;
	admin_prepare(f, src, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, &q, &ao);
	rd_kafka_DescribeConfigs(src, desc, nd, ao, q);
	ev = admin_call_wait(q, admin_timeout(f), &e, &estr);
	if (e) {
		rc = admin_fail(f->source, "DescribeConfigs", e, estr, err, errlen);
		goto out_free;
	}
	size_t nr;
	const rd_kafka_ConfigResource_t **rr = rd_kafka_DescribeConfigs_result_resources(
	    rd_kafka_event_DescribeConfigs_result(ev), &nr);
	for (size_t i = 0; i < nr; i++) {
		const char *topic = rd_kafka_ConfigResource_name(rr[i]);
		char remote[FERRY_MM2_TOPIC_MAX + 1];
		rd_kafka_resp_err_t re = rd_kafka_ConfigResource_error(rr[i]);
		if (re == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
			continue; /* deleted since it was listed: the next round will not see it */
		if (re) {
			rc = ferry_errf(-EIO, err, errlen, "cluster %s: DescribeConfigs %s: %s",
					f->source, topic,
					rd_kafka_ConfigResource_error_string(rr[i]));
			goto out_free;
		}
		if (ferry_mm2_remote_topic(&f->policy, f->source, topic, remote, sizeof(remote)) <
		    0)
			continue; /* topics_list already refused (and said) such a name */
		rd_kafka_ConfigResource_t *ar =
		    rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, remote);
		if (ar == NULL) {
			rc = ferry_errf(-ENOMEM, err, errlen, "out of memory");
			goto out_free;
		}
		alt[na++] = ar;
		size_t ne;
		const rd_kafka_ConfigEntry_t **ce = rd_kafka_ConfigResource_configs(rr[i], &ne);
		for (size_t j = 0; j < ne; j++) {
			struct ferry_mm2_config_entry ent = {
				.Name = rd_kafka_ConfigEntry_name(ce[j]),
				.Value = rd_kafka_ConfigEntry_value(ce[j]),
				.ConfigSource = (int8_t)rd_kafka_ConfigEntry_source(ce[j]),
				.ReadOnly = rd_kafka_ConfigEntry_is_read_only(ce[j]) != 0,
				.IsSensitive = rd_kafka_ConfigEntry_is_sensitive(ce[j]) != 0,
			};
			if (!ferry_mm2_config_keep(f->config_copy, &ent))
				continue;
			if (rd_kafka_ConfigResource_set_config(ar, ent.Name, ent.Value) == 0)
				res->configs_copied++;
		}
	}
	if (na == 0)
		goto out_free;

	admin_prepare(f, dst, RD_KAFKA_ADMIN_OP_ALTERCONFIGS, &q, &ao);
	rd_kafka_AlterConfigs(dst, alt, na, ao, q);
	aev = admin_call_wait(q, admin_timeout(f), &e, &estr);
	if (e) {
		rc = admin_fail(f->target, "AlterConfigs", e, estr, err, errlen);
		goto out_free;
	}
	rr = rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(aev), &nr);
	for (size_t i = 0; i < nr; i++) {
		rd_kafka_resp_err_t re = rd_kafka_ConfigResource_error(rr[i]);
		if (re == 0) {
			res->configs_altered++;
			continue;
		}
		/* Say the first failure, keep the others' successes counted. */
		if (rc == 0)
			rc = ferry_errf(-EIO, err, errlen, "cluster %s: AlterConfigs %s: %s",
					f->target, rd_kafka_ConfigResource_name(rr[i]),
					rd_kafka_ConfigResource_error_string(rr[i]));
	}
out_free:
	if (aev)
		rd_kafka_event_destroy(aev);
	if (ev)
		rd_kafka_event_destroy(ev);
	if (ao)
		rd_kafka_AdminOptions_destroy(ao);
	if (q)
		rd_kafka_queue_destroy(q);
	if (desc)
		rd_kafka_ConfigResource_destroy_array(desc, nd);
	if (alt)
		rd_kafka_ConfigResource_destroy_array(alt, na);
	free(desc);
	free(alt);
	return rc;
}

/* ---- ACLs --------------------------------------------------------------------------------- */

static int
sync_acls(struct ferry_mm2_flow *f, const struct ferry_mm2_provenance *prov,
	  struct ferry_topic_meta_round *res, char *err, size_t errlen)
{
	rd_kafka_t *src = ferry_mm2_client(f, f->source, FERRY_MM2_READER, err, errlen);
	rd_kafka_t *dst =
	    src ? ferry_mm2_client(f, f->target, FERRY_MM2_READER, err, errlen) : NULL;
	rd_kafka_AclBinding_t **nb = NULL;
	rd_kafka_AclBindingFilter_t *flt = NULL;
	rd_kafka_queue_t *q = NULL;
	rd_kafka_AdminOptions_t *ao = NULL;
	rd_kafka_event_t *ev = NULL, *cev = NULL;
	rd_kafka_resp_err_t e;
	const char *estr;
	char errstr[256];
	size_t n = 0, nn = 0;
	int rc = 0;

	if (dst == NULL)
		return -EIO;
	/* MM2's ANY_TOPIC_ACL: every TOPIC binding, any pattern type (non-LITERAL ones are
	 * then dropped by the translation, as MM2 does). */
	flt = rd_kafka_AclBindingFilter_new(
	    RD_KAFKA_RESOURCE_TOPIC, NULL, RD_KAFKA_RESOURCE_PATTERN_ANY, NULL, NULL,
	    RD_KAFKA_ACL_OPERATION_ANY, RD_KAFKA_ACL_PERMISSION_TYPE_ANY, errstr, sizeof(errstr));
	if (flt == NULL)
		return ferry_errf(-EINVAL, err, errlen, "cluster %s: DescribeAcls filter: %s",
				  f->source, errstr);
	if ((rc = ferry_mm2_need_controller(src, f->source, "DescribeAcls", err, errlen)) != 0) {
		rd_kafka_AclBinding_destroy(flt);
		return rc;
	}
	admin_prepare(f, src, RD_KAFKA_ADMIN_OP_DESCRIBEACLS, &q, &ao);
	rd_kafka_DescribeAcls(src, flt, ao, q);
	ev = admin_call_wait(q, admin_timeout(f), &e, &estr);
	if (e) {
		rc = admin_fail(f->source, "DescribeAcls", e, estr, err, errlen);
		goto out_free;
	}
	const rd_kafka_AclBinding_t **acl =
	    rd_kafka_DescribeAcls_result_acls(rd_kafka_event_DescribeAcls_result(ev), &n);
	res->acls_seen = n;
	nb = calloc(n ? n : 1, sizeof(*nb));
	if (nb == NULL) {
		rc = ferry_errf(-ENOMEM, err, errlen, "out of memory");
		goto out_free;
	}
	for (size_t i = 0; i < n; i++) {
		struct ferry_mm2_acl in = {
			.ResourceType = (int8_t)rd_kafka_AclBinding_restype(acl[i]),
			.ResourceName = rd_kafka_AclBinding_name(acl[i]),
			.PatternType = (int8_t)rd_kafka_AclBinding_resource_pattern_type(acl[i]),
			.Principal = rd_kafka_AclBinding_principal(acl[i]),
			.Host = rd_kafka_AclBinding_host(acl[i]),
			.Operation = (int8_t)rd_kafka_AclBinding_operation(acl[i]),
			.PermissionType = (int8_t)rd_kafka_AclBinding_permission_type(acl[i]),
		}, out;
		char remote[FERRY_MM2_TOPIC_MAX + 1];
		/* shouldReplicateTopic(name), and ferry's rules: no ACL for a topic that is
		 * not replicated (or never leaves the source). */
		if (in.ResourceName == NULL ||
		    !ferry_mm2_should_replicate(&f->policy, f->topics, f->heartbeats_replication,
						in.ResourceName, f->target, prov) ||
		    (f->topic_allow && !f->topic_allow(f->topic_allow_arg, in.ResourceName)))
			continue;
		if (ferry_mm2_acl_translate(&f->policy, f->source, &in, &out, remote,
					    sizeof(remote)) != 1)
			continue;
		nb[nn] = rd_kafka_AclBinding_new(
		    RD_KAFKA_RESOURCE_TOPIC, out.ResourceName, RD_KAFKA_RESOURCE_PATTERN_LITERAL,
		    out.Principal, out.Host, (rd_kafka_AclOperation_t)out.Operation,
		    (rd_kafka_AclPermissionType_t)out.PermissionType, errstr, sizeof(errstr));
		if (nb[nn] == NULL) {
			rc = ferry_errf(-EINVAL, err, errlen,
					"cluster %s: ACL on topic %s for %s: %s", f->target, remote,
					out.Principal, errstr);
			goto out_free;
		}
		nn++;
	}
	if (nn == 0)
		goto out_free;

	admin_prepare(f, dst, RD_KAFKA_ADMIN_OP_CREATEACLS, &q, &ao);
	rd_kafka_CreateAcls(dst, nb, nn, ao, q);
	cev = admin_call_wait(q, admin_timeout(f), &e, &estr);
	if (e) {
		rc = admin_fail(f->target, "CreateAcls", e, estr, err, errlen);
		goto out_free;
	}
	size_t nr;
	const rd_kafka_acl_result_t **ar =
	    rd_kafka_CreateAcls_result_acls(rd_kafka_event_CreateAcls_result(cev), &nr);
	for (size_t i = 0; i < nr; i++) {
		const rd_kafka_error_t *ae = rd_kafka_acl_result_error(ar[i]);
		if (ae == NULL) {
			res->acls_created++;
			continue;
		}
		if (rc == 0)
			rc = ferry_errf(-EIO, err, errlen, "cluster %s: CreateAcls on topic %s: %s",
					f->target, i < nn ? rd_kafka_AclBinding_name(nb[i]) : "?",
					rd_kafka_error_string(ae));
	}
out_free:
	if (cev)
		rd_kafka_event_destroy(cev);
	if (ev)
		rd_kafka_event_destroy(ev);
	if (ao)
		rd_kafka_AdminOptions_destroy(ao);
	if (q)
		rd_kafka_queue_destroy(q);
	if (nb)
		rd_kafka_AclBinding_destroy_array(nb, nn);
	free(nb);
	rd_kafka_AclBinding_destroy(flt);
	return rc;
}

/* ---- the round ------------------------------------------------------------------------------ */

int
ferry_mm2_topic_meta_sync(struct ferry_mm2_flow *f, const struct ferry_mm2_provenance *prov,
			  int64_t now_ms, bool force, struct ferry_topic_meta_round *res, char *err,
			  size_t errlen)
{
	struct ferry_topic_meta_round local;
	struct ferry_mm2_topic *t = NULL;
	size_t nt = 0;
	int rc;

	if (res == NULL)
		res = &local;
	memset(res, 0, sizeof(*res));
	res->configs_ran = f->sync_topic_configs && (force || now_ms >= f->next_configs_ms);
	res->acls_ran = f->sync_topic_acls && (force || now_ms >= f->next_acls_ms);
	if (!res->configs_ran && !res->acls_ran)
		return 0;
	if ((rc = ferry_mm2_topics_list(f, prov, &t, &nt, err, errlen)) < 0)
		return rc;
	/* topics_list refreshed the flow's own provenance when the caller gave none */
	if (prov == NULL)
		prov = f->auto_prov;

	char kerr[512];
	int crc = 0, arc = 0;
	if (res->configs_ran) {
		f->next_configs_ms = now_ms + f->sync_topic_configs_interval_ms;
		crc = sync_configs(f, t, nt, res, kerr, sizeof(kerr));
		if (crc == -ENOTSUP) {
			res->configs_unsupported = true;
			if (!f->warned_configs_api)
				ferry_mm2_warn(
				    f,
				    "%s->%s: topic config sync skipped: %s (the cluster "
				    "has no such admin API; librdkafka's mock has none): "
				    "remote topics keep the target's defaults; tried again "
				    "every %lld s, said once",
				    f->source, f->target, kerr,
				    (long long)(f->sync_topic_configs_interval_ms / 1000));
			f->warned_configs_api = true;
			crc = 0;
		} else if (crc < 0) {
			snprintf(err, errlen, "%s", kerr);
		}
	}
	if (res->acls_ran) {
		f->next_acls_ms = now_ms + f->sync_topic_acls_interval_ms;
		arc = sync_acls(f, prov, res, kerr, sizeof(kerr));
		if (arc == -ENOTSUP) {
			res->acls_unsupported = true;
			if (!f->warned_acls_api)
				ferry_mm2_warn(
				    f,
				    "%s->%s: topic ACL sync skipped: %s (no such admin API "
				    "or no authorizer on the cluster; librdkafka's mock has "
				    "neither): remote topics get no ACLs from ferry; tried "
				    "again every %lld s, said once",
				    f->source, f->target, kerr,
				    (long long)(f->sync_topic_acls_interval_ms / 1000));
			f->warned_acls_api = true;
			arc = 0;
		} else if (arc < 0 && crc == 0) {
			snprintf(err, errlen, "%s", kerr);
		}
	}
	ferry_mm2_topics_free(t, nt);
	return crc < 0 ? crc : arc;
}
