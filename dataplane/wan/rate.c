/*
 * rate.c - BBR-like rate control for one WAN lane: delivery-rate samples, a windowed max
 * filter of the bottleneck bandwidth, a min RTT filter, the STARTUP / DRAIN / PROBE_BW /
 * PROBE_RTT state machine, the inflight cap and the pacer.
 *
 * Runs on the lane's worker lcore, called by lane_tx.c; owns nothing but its struct.
 * Model: BBR v1 (Cardwell et al., ACM Queue 2016; Linux net/ipv4/tcp_bbr.c and tcp_rate.c).
 * The point of a model-based controller here: the rate follows the measured delivery rate
 * and RTT, not losses, so random loss on a long path (0.5 % at 200 ms) does not collapse
 * the rate as it would with Reno/CUBIC. A round loss above conf.loss_react_pct (off by
 * default) resets the bandwidth estimate to the latest sample, so a collapse caused by a
 * grossly wrong estimate is still corrected within a round trip.
 *
 * Two departures from BBR v1, both for lossy long paths (issue 5):
 * - Random loss compensation. A delivery-rate sample only counts what arrived, so at a
 *   random loss rate p it is (1 - p) x the sending rate; BBR v1's max filter is held up
 *   only by the 1.25 probe, and 1.25 x (1 - p) < 1 for p > 20 %: the estimate decays
 *   round after round to nothing (1-6 % of the link at 30 % loss). We estimate p from
 *   packets sent while pacing BELOW the estimate (DRAIN, the 0.75 phase of PROBE_BW,
 *   PROBE_RTT): those cannot have overflowed a queue we built as long as the estimate is
 *   below 1.33 x the bottleneck, so their loss is the path's own, not congestion. Samples
 *   are divided by (1 - p). Because congestion drops never enter p the correction cannot
 *   feed on itself: with the estimate at the bottleneck, (1 - p) x C / (1 - p) = C.
 * - STARTUP ends on a standing queue (every RTT sample of a run well above min RTT), not
 *   only after three rounds of flat bandwidth, and its inflight cap is 2 x BDP rather
 *   than 2.885 x (as BBR v2/v3): at 200 ms the three flat rounds at 2.885 x overflowed a
 *   1 MB bottleneck queue by ~4 MB per round, most of the retransmissions of a transfer.
 *
 * Rates are bytes/s internally (bits/s at the API); gains are fixed point x 1/256.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ferry/wan_lane.h"

#define GAIN_UNIT      256u
#define HIGH_GAIN      739u /* 2/ln(2) = 2.885: doubles the delivery rate each round */
#define DRAIN_GAIN     88u  /* 1 / 2.885: drains the queue STARTUP built */
#define CWND_GAIN      512u /* 2 x BDP: room for delayed and stretched ACKs */
#define STARTUP_CWND_GAIN 512u /* 2 x BDP still doubles per round; 2.885 x only adds overshoot */
#define QUEUE_RTT_MIN_NS 4000000ull /* a standing queue is min RTT / 8, at least this, ... */
#define QUEUE_RUN      16u  /* ... seen in this many RTT samples in a row (not one late ACK) */
#define CALM_MIN_PKTS  64u  /* packets of below-estimate history before p is trusted */
#define CALM_WIN_PKTS  2048u /* the loss history halves past this many packets */
#define CYCLE_LEN      8u
#define FULL_BW_THRESH 320u /* STARTUP ends when bw grows < 25 % ... */
#define FULL_BW_CNT    3u   /* ... for 3 rounds in a row */
#define PROBE_RTT_NS   200000000ull
#define NS_PER_S       1000000000ull

static const uint32_t cycle_gain[CYCLE_LEN] = { 320, 192, 256, 256, 256, 256, 256, 256 };

/* a * b / c without overflow for the sizes seen here (bytes x ns). */
static uint64_t
muldiv(uint64_t a, uint64_t b, uint64_t c)
{
	__extension__ unsigned __int128 r = (unsigned __int128)a * b / (c ? c : 1);
	return r > UINT64_MAX ? UINT64_MAX : (uint64_t)r;
}

/* ---- windowed max filter (Linux lib/win_minmax.c, running max) ------------------------- */

static void
maxfilt_reset(struct ferry_wan_maxfilt *m, uint64_t t, uint64_t v)
{
	for (int i = 0; i < 3; i++) {
		m->s[i].t = t;
		m->s[i].v = v;
	}
}

static uint64_t
maxfilt_get(const struct ferry_wan_maxfilt *m)
{
	return m->s[0].v;
}

static void
maxfilt_update(struct ferry_wan_maxfilt *m, uint64_t win, uint64_t t, uint64_t v)
{
	if (v >= m->s[0].v || t - m->s[2].t > win) {
		maxfilt_reset(m, t, v);
		return;
	}
	if (v >= m->s[1].v) {
		m->s[2].t = m->s[1].t = t;
		m->s[2].v = m->s[1].v = v;
	} else if (v >= m->s[2].v) {
		m->s[2].t = t;
		m->s[2].v = v;
	}
	/* Age the best samples out of the window (subwin_update). */
	uint64_t dt = t - m->s[0].t;
	if (dt > win) {
		m->s[0] = m->s[1];
		m->s[1] = m->s[2];
		m->s[2].t = t;
		m->s[2].v = v;
		if (t - m->s[0].t > win) {
			m->s[0] = m->s[1];
			m->s[1] = m->s[2];
		}
	} else if (m->s[1].t == m->s[0].t && dt > win / 4) {
		m->s[2].t = m->s[1].t = t;
		m->s[2].v = m->s[1].v = v;
	} else if (m->s[2].t == m->s[1].t && dt > win / 2) {
		m->s[2].t = t;
		m->s[2].v = v;
	}
}

/* ---- model ----------------------------------------------------------------------------- */

static uint64_t
btlbw(const struct ferry_wan_rate *rc)
{
	return maxfilt_get(&rc->bw_filt);
}

/*
 * Divide a delivery-rate sample by (1 - p), p the random loss rate seen on packets sent
 * below the estimate (see the top of the file). p is capped at 1/2: past that the path is
 * not worth a model, and the cap bounds what a misread (e.g. a policer, which drops
 * without queueing) can inflate the estimate to.
 */
static uint64_t
loss_compensate(const struct ferry_wan_rate *rc, uint64_t bw)
{
	uint64_t tot = rc->calm_acked + rc->calm_lost;
	uint64_t lost = rc->calm_lost;

	if (lost == 0 || tot < (uint64_t)CALM_MIN_PKTS * rc->conf.mss)
		return bw;
	if (lost > tot / 2)
		lost = tot / 2;
	return muldiv(bw, tot, tot - lost);
}

static bool
have_model(const struct ferry_wan_rate *rc)
{
	return btlbw(rc) > 0 && rc->min_rtt_ns != UINT64_MAX;
}

/* Bytes in flight a gain allows: gain x BDP, BDP = btlbw x min_rtt. */
static uint64_t
target_inflight(const struct ferry_wan_rate *rc, uint32_t gain)
{
	if (!have_model(rc))
		return rc->conf.initial_cwnd;
	uint64_t bdp = muldiv(btlbw(rc), rc->min_rtt_ns, NS_PER_S);
	return muldiv(bdp, gain, GAIN_UNIT);
}

static uint32_t
rng_next(struct ferry_wan_rate *rc)
{
	/* xorshift32: only picks the first PROBE_BW phase; deterministic per conf.seed. */
	uint32_t x = rc->rng;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	rc->rng = x;
	return x;
}

static void
enter_probe_bw(struct ferry_wan_rate *rc, uint64_t now)
{
	rc->state = FERRY_WAN_RATE_PROBE_BW;
	rc->cwnd_gain = CWND_GAIN;
	/* Start anywhere but the 0.75 phase, as BBR does, so lanes do not probe in step. */
	uint32_t idx = rng_next(rc) % (CYCLE_LEN - 1);
	rc->cycle_idx = idx == 1 ? CYCLE_LEN - 1 : idx;
	rc->pacing_gain = cycle_gain[rc->cycle_idx];
	rc->cycle_stamp = now;
}

static void
enter_startup(struct ferry_wan_rate *rc)
{
	rc->state = FERRY_WAN_RATE_STARTUP;
	rc->pacing_gain = HIGH_GAIN;
	rc->cwnd_gain = STARTUP_CWND_GAIN;
}

int
ferry_wan_rate_init(struct ferry_wan_rate *rc, const struct ferry_wan_rate_conf *conf,
		    uint64_t now, char *err, size_t errlen)
{
	memset(rc, 0, sizeof(*rc));
	rc->conf = *conf;
	struct ferry_wan_rate_conf *c = &rc->conf;
	if (c->ceiling_bps < 8000) {
		snprintf(err, errlen, "rate: ceiling_bps %llu is below 8 kbit/s",
			 (unsigned long long)c->ceiling_bps);
		return -EINVAL;
	}
	if (c->initial_bps == 0)
		c->initial_bps = c->ceiling_bps / 10;
	if (c->min_bps == 0) {
		c->min_bps = c->ceiling_bps / 1000;
		if (c->min_bps < 64000)
			c->min_bps = 64000;
	}
	if (c->min_bps > c->ceiling_bps)
		c->min_bps = c->ceiling_bps;
	if (c->initial_bps > c->ceiling_bps || c->initial_bps < c->min_bps) {
		snprintf(err, errlen, "rate: initial_bps %llu outside [min %llu, ceiling %llu]",
			 (unsigned long long)c->initial_bps, (unsigned long long)c->min_bps,
			 (unsigned long long)c->ceiling_bps);
		return -EINVAL;
	}
	if (c->mss == 0)
		c->mss = 1500;
	if (c->initial_cwnd == 0)
		c->initial_cwnd = c->initial_bps / 8 / 5; /* 200 ms at the initial rate */
	if (c->initial_cwnd < 4ull * c->mss)
		c->initial_cwnd = 4ull * c->mss;
	if (c->min_rtt_win_ns == 0)
		c->min_rtt_win_ns = 10 * NS_PER_S;
	if (c->bw_win_rounds == 0)
		c->bw_win_rounds = 10;
	if (c->loss_react_pct > 100) {
		snprintf(err, errlen, "rate: loss_react_pct %u is above 100", c->loss_react_pct);
		return -EINVAL;
	}
	rc->rng = c->seed ? c->seed : 0x9e3779b9u;
	rc->min_rtt_ns = UINT64_MAX;
	rc->min_rtt_stamp = now;
	rc->pacing_Bps = c->initial_bps / 8;
	rc->cwnd = c->initial_cwnd;
	rc->delivered_ns = now;
	rc->first_sent_ns = now;
	rc->next_send_ns = now;
	enter_startup(rc);
	return 0;
}

void
ferry_wan_rate_on_send(struct ferry_wan_rate *rc, uint64_t now, uint32_t bytes,
		       uint64_t inflight, struct ferry_wan_rate_pkt *pkt)
{
	(void)bytes;
	/* tcp_rate.c: a send into an empty pipe starts a new sampling interval, so idle
	 * time is not counted as a slow delivery rate. */
	if (inflight == 0) {
		rc->first_sent_ns = now;
		rc->delivered_ns = now;
	}
	pkt->delivered = rc->delivered;
	pkt->delivered_ns = rc->delivered_ns;
	pkt->first_sent_ns = rc->first_sent_ns;
	pkt->sent_ns = now;
	pkt->app_limited = rc->app_limited_until != 0;
	/* Sent slower than the estimate: if it is lost, the path lost it, not our queue. */
	pkt->below_bw = rc->state == FERRY_WAN_RATE_PROBE_RTT ||
			(rc->state != FERRY_WAN_RATE_STARTUP && rc->pacing_gain < GAIN_UNIT);
}

void
ferry_wan_rate_app_limited(struct ferry_wan_rate *rc, uint64_t inflight)
{
	/* Samples of packets sent until this data is delivered say how fast we sent, not how
	 * fast the path can go; the +1 keeps the mark non-zero when nothing is in flight. */
	rc->app_limited_until = rc->delivered + inflight + 1;
}

static void
update_min_rtt(struct ferry_wan_rate *rc, uint64_t now, uint64_t rtt)
{
	bool expired = now > rc->min_rtt_stamp + rc->conf.min_rtt_win_ns;

	if (rtt != 0 && (rtt <= rc->min_rtt_ns || expired)) {
		rc->min_rtt_ns = rtt;
		rc->min_rtt_stamp = now;
	}
	if (!rc->conf.probe_rtt)
		return;
	/* PROBE_RTT: when min RTT has not been refreshed for a window, hold inflight at 4
	 * packets for 200 ms and a round so any standing queue drains and the true
	 * propagation delay is seen again. */
	if (expired && rc->state != FERRY_WAN_RATE_PROBE_RTT) {
		rc->prior_state = rc->state;
		rc->state = FERRY_WAN_RATE_PROBE_RTT;
		rc->pacing_gain = GAIN_UNIT;
		rc->cwnd_gain = GAIN_UNIT;
		rc->probe_rtt_done_ns = 0;
	}
}

static void
probe_rtt_step(struct ferry_wan_rate *rc, uint64_t now, uint64_t inflight)
{
	if (rc->probe_rtt_done_ns == 0) {
		if (inflight <= 4ull * rc->conf.mss) {
			rc->probe_rtt_done_ns = now + PROBE_RTT_NS;
			rc->probe_rtt_round_done = false;
			rc->next_round_delivered = rc->delivered;
		}
		return;
	}
	if (rc->round_start)
		rc->probe_rtt_round_done = true;
	if (rc->probe_rtt_round_done && now >= rc->probe_rtt_done_ns) {
		rc->min_rtt_stamp = now;
		if (rc->filled_pipe)
			enter_probe_bw(rc, now);
		else
			enter_startup(rc);
	}
}

static void
check_full_pipe(struct ferry_wan_rate *rc, bool sample_app_limited)
{
	if (rc->filled_pipe || !rc->round_start || sample_app_limited)
		return;
	uint64_t bw = btlbw(rc);
	if (bw >= muldiv(rc->full_bw, FULL_BW_THRESH, GAIN_UNIT)) {
		rc->full_bw = bw;
		rc->full_bw_cnt = 0;
		return;
	}
	if (++rc->full_bw_cnt >= FULL_BW_CNT)
		rc->filled_pipe = true;
}

static void
advance_cycle(struct ferry_wan_rate *rc, uint64_t now, uint64_t inflight, uint64_t lost)
{
	bool full_length = rc->min_rtt_ns != UINT64_MAX && now - rc->cycle_stamp > rc->min_rtt_ns;
	bool next;

	if (rc->pacing_gain > GAIN_UNIT)
		/* Probe until the pipe holds gain x BDP (or losses say it is full). */
		next = full_length && (lost > 0 || inflight >= target_inflight(rc, rc->pacing_gain));
	else if (rc->pacing_gain < GAIN_UNIT)
		/* Drain what the probe queued: stop early once inflight is back to BDP. */
		next = full_length || inflight <= target_inflight(rc, GAIN_UNIT);
	else
		next = full_length;
	if (!next)
		return;
	rc->cycle_idx = (rc->cycle_idx + 1) % CYCLE_LEN;
	rc->pacing_gain = cycle_gain[rc->cycle_idx];
	rc->cycle_stamp = now;
}

static void
set_pacing(struct ferry_wan_rate *rc)
{
	uint64_t ceil = rc->conf.ceiling_bps / 8, floor = rc->conf.min_bps / 8;
	uint64_t bw = btlbw(rc);
	if (bw == 0)
		return; /* keep the initial rate until a sample */
	uint64_t r = muldiv(bw, rc->pacing_gain, GAIN_UNIT);
	if (r > ceil)
		r = ceil;
	if (r < floor)
		r = floor;
	/* Until the pipe is known full, never slow down below what we already had: early
	 * samples undercount (ACK clocking has not caught up). */
	if (!rc->filled_pipe && r < rc->pacing_Bps)
		return;
	rc->pacing_Bps = r;
}

static void
set_cwnd(struct ferry_wan_rate *rc, uint64_t acked)
{
	uint64_t target = target_inflight(rc, rc->cwnd_gain);
	uint64_t floor = 4ull * rc->conf.mss;

	/* Two more packets: room for an ACK that is stretched or delayed. */
	target += 2ull * rc->conf.mss;
	if (rc->filled_pipe) {
		rc->cwnd = rc->cwnd + acked < target ? rc->cwnd + acked : target;
	} else if (rc->cwnd < target || rc->delivered < rc->conf.initial_cwnd) {
		rc->cwnd += acked;
	}
	if (rc->cwnd < floor)
		rc->cwnd = floor;
	if (rc->state == FERRY_WAN_RATE_PROBE_RTT && rc->cwnd > floor)
		rc->cwnd = floor;
}

void
ferry_wan_rate_on_ack(struct ferry_wan_rate *rc, uint64_t now, const struct ferry_wan_rate_ack *ra)
{
	const struct ferry_wan_rate_pkt *p = ra->newest;
	uint64_t bw = 0;
	bool valid = false, sample_app_limited = false;

	rc->delivered += ra->acked_bytes;
	if (ra->acked_bytes)
		rc->delivered_ns = now;
	if (rc->app_limited_until && rc->delivered > rc->app_limited_until)
		rc->app_limited_until = 0;

	/* Delivery-rate sample (tcp_rate.c): data delivered since the newest acked packet
	 * was sent, over the longer of its send and ACK intervals, so neither ACK
	 * compression nor a send burst inflates it. */
	rc->round_start = false;
	if (p) {
		rc->first_sent_ns = p->sent_ns;
		uint64_t send_iv = p->sent_ns - p->first_sent_ns;
		uint64_t ack_iv = now - p->delivered_ns;
		uint64_t iv = send_iv > ack_iv ? send_iv : ack_iv;
		uint64_t d = rc->delivered - p->delivered;
		/* An interval shorter than min RTT cannot be a real rate (tcp_rate.c). */
		if (iv > 0 && d > 0 && (rc->min_rtt_ns == UINT64_MAX || iv >= rc->min_rtt_ns)) {
			bw = muldiv(d, NS_PER_S, iv);
			valid = true;
			sample_app_limited = p->app_limited;
		}
		if (p->delivered >= rc->next_round_delivered) {
			rc->next_round_delivered = rc->delivered;
			rc->round_count++;
			rc->round_start = true;
		}
	}

	/* High loss in a round: only far above random loss does it mean the estimate is
	 * wrong (a collapse); then trust the latest sample instead of the max. */
	if (rc->round_start) {
		uint64_t tot = rc->round_acked + rc->round_lost;
		if (rc->conf.loss_react_pct && tot >= 16ull * rc->conf.mss &&
		    rc->round_lost * 100 > tot * rc->conf.loss_react_pct && valid) {
			maxfilt_reset(&rc->bw_filt, rc->round_count, bw);
			rc->loss_cuts++;
		}
		rc->round_acked = 0;
		rc->round_lost = 0;
	}
	rc->round_acked += ra->acked_bytes;
	rc->round_lost += ra->lost_bytes;

	rc->calm_acked += ra->acked_below_bw;
	rc->calm_lost += ra->lost_below_bw;
	if (rc->calm_acked + rc->calm_lost > (uint64_t)CALM_WIN_PKTS * rc->conf.mss) {
		/* Halve the history: p follows a path whose loss changes, in a few windows. */
		rc->calm_acked /= 2;
		rc->calm_lost /= 2;
	}
	if (valid)
		bw = loss_compensate(rc, bw);

	if (valid && (!sample_app_limited || bw >= btlbw(rc)))
		maxfilt_update(&rc->bw_filt, rc->conf.bw_win_rounds, rc->round_count, bw);

	update_min_rtt(rc, now, ra->rtt_ns);

	/* A standing queue: a run of RTT samples all well above min RTT (one late ACK or a
	 * reordered packet does not make a run). In STARTUP it means we already send
	 * faster than the bottleneck: stop now rather than after three flat rounds, each
	 * of which pushes the overshoot into a drop-tail queue. */
	if (ra->rtt_ns && rc->min_rtt_ns != UINT64_MAX) {
		uint64_t q = rc->min_rtt_ns / 8;
		if (q < QUEUE_RTT_MIN_NS)
			q = QUEUE_RTT_MIN_NS;
		rc->rtt_high_run = ra->rtt_ns > rc->min_rtt_ns + q ? rc->rtt_high_run + 1 : 0;
		if (rc->state == FERRY_WAN_RATE_STARTUP && !rc->filled_pipe &&
		    rc->rtt_high_run >= QUEUE_RUN) {
			rc->filled_pipe = true;
			rc->startup_delay_exits++;
		}
	}

	check_full_pipe(rc, sample_app_limited);
	switch (rc->state) {
	case FERRY_WAN_RATE_STARTUP:
		if (rc->filled_pipe) {
			rc->state = FERRY_WAN_RATE_DRAIN;
			rc->pacing_gain = DRAIN_GAIN;
			rc->cwnd_gain = STARTUP_CWND_GAIN;
		}
		break;
	case FERRY_WAN_RATE_DRAIN:
		if (ra->inflight <= target_inflight(rc, GAIN_UNIT))
			enter_probe_bw(rc, now);
		break;
	case FERRY_WAN_RATE_PROBE_BW:
		advance_cycle(rc, now, ra->inflight, ra->lost_bytes);
		break;
	case FERRY_WAN_RATE_PROBE_RTT:
		probe_rtt_step(rc, now, ra->inflight);
		break;
	}
	set_pacing(rc);
	set_cwnd(rc, ra->acked_bytes);
}

uint64_t
ferry_wan_rate_pace(struct ferry_wan_rate *rc, uint64_t now, uint32_t bytes)
{
	uint64_t rate = rc->pacing_Bps ? rc->pacing_Bps : 1;
	/* Idle time earns at most two packets (or 1 ms) of credit: a caller that polls a
	 * little late catches up, one that was idle does not burst a queue's worth. */
	uint64_t burst = muldiv(2ull * rc->conf.mss, NS_PER_S, rate);
	if (burst > 1000000)
		burst = 1000000;
	uint64_t start = rc->next_send_ns;
	if (now > burst && start < now - burst)
		start = now - burst;
	rc->next_send_ns = start + muldiv(bytes, NS_PER_S, rate);
	return rc->next_send_ns;
}

uint64_t
ferry_wan_rate_pacing_bps(const struct ferry_wan_rate *rc)
{
	return rc->pacing_Bps * 8;
}

uint64_t
ferry_wan_rate_btlbw_bps(const struct ferry_wan_rate *rc)
{
	return btlbw(rc) * 8;
}

const char *
ferry_wan_rate_state_name(enum ferry_wan_rate_state s)
{
	switch (s) {
	case FERRY_WAN_RATE_STARTUP:
		return "STARTUP";
	case FERRY_WAN_RATE_DRAIN:
		return "DRAIN";
	case FERRY_WAN_RATE_PROBE_BW:
		return "PROBE_BW";
	case FERRY_WAN_RATE_PROBE_RTT:
		return "PROBE_RTT";
	}
	return "?";
}
