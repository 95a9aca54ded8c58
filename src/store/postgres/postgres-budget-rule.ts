import { HELD_RATE_INTERVALS, HELD_RATE_MS } from '../../core/bucket-level.js';

/*
 * The shared bucket's rule in PL/pgSQL, so a take is one statement: one round trip. The rule is
 * src/core/bucket-level.ts (heldRate, refilled, takeToken, pausedUntil), written again here,
 * step for step in the same float8 arithmetic, because a take in TypeScript needs the row locked
 * across round trips (read it, then write it back: four with BEGIN and COMMIT), and against a
 * database a few milliseconds away those round trips, not the provider, were what limited a
 * process's requests.
 * test/store/budget-rule-conformance.test.ts drives this and the SQLite store (which runs
 * bucket-level.ts) through the same property and requires the same answers, to the float.
 *
 * Frozen once released: migration 9 creates these functions. A change of the rule in
 * bucket-level.ts is a new migration that replaces them (CREATE OR REPLACE FUNCTION, same
 * signatures); until it exists the conformance test fails.
 */

/**
 * Creates, in schema `s` (quoted):
 *
 * - `mdp_budget_row(provider, tokens if new, now or NULL, lock wait ms, mark key)`: locks the
 *   provider's row (created with `tokens` if missing) waiting at most the lock wait, reads the
 *   database's clock after the lock was granted (or the test's stand-in), and keeps the budget
 *   steady across a step back of that clock: a reading behind the provider's mark (mdp_meta, the
 *   reading of its last take or pause) moves the row back by the difference, and the mark is set
 *   to the reading, as the SQLite store does for its file.
 * - `mdp_budget_take(provider, burst, rate per ms, phase margin ms, margin, lock wait ms, mark
 *   key, now or NULL)`: heldRate, then takeToken at the held rate and burst; returns the wait
 *   (0 for a granted take, written; else the ms to wait) and the rate and burst it was held to.
 * - `mdp_budget_pause(provider, ms, lock wait ms, mark key, now or NULL)`: pausedUntil, written.
 *
 * The lock wait is set for the statement's own transaction (set_config(..., true)) before the
 * row is locked, so the pool's lock_timeout stays for every other statement.
 */
export function budgetRuleFunctions(s: string): string[] {
  return [
    `
    CREATE FUNCTION ${s}.mdp_budget_row(
      p_provider text, p_new_tokens float8, p_now float8, p_lock_ms integer, p_mark_key text,
      OUT o_tokens float8, OUT o_updated_at float8, OUT o_full_since float8, OUT o_now float8,
      OUT o_rate_per_ms float8, OUT o_rate_asserted_at float8, OUT o_burst float8,
      OUT o_burst_asserted_at float8)
    LANGUAGE plpgsql
    -- The mark is written as text: every digit, whatever the session's setting.
    SET extra_float_digits = 3
    AS $fn$
    DECLARE
      v_mark float8;
    BEGIN
      PERFORM set_config('lock_timeout', p_lock_ms::text, true);
      INSERT INTO ${s}.provider_budgets AS b (provider, tokens, updated_at, full_since)
      VALUES (p_provider, p_new_tokens,
        COALESCE(p_now, (extract(epoch from clock_timestamp()) * 1000)::float8), NULL)
      ON CONFLICT (provider) DO UPDATE SET provider = b.provider
      RETURNING b.tokens, b.updated_at, COALESCE(b.full_since, '-Infinity'::float8),
        b.rate_per_ms, b.rate_asserted_at, b.burst, b.burst_asserted_at
        INTO o_tokens, o_updated_at, o_full_since,
          o_rate_per_ms, o_rate_asserted_at, o_burst, o_burst_asserted_at;
      o_now := COALESCE(p_now, (extract(epoch from clock_timestamp()) * 1000)::float8);
      SELECT m.value::float8 INTO v_mark FROM ${s}.mdp_meta m WHERE m.key = p_mark_key;
      IF v_mark > o_now THEN
        o_updated_at := o_updated_at - (v_mark - o_now);
        o_full_since := o_full_since - (v_mark - o_now);
        o_rate_asserted_at := o_rate_asserted_at - (v_mark - o_now);
        o_burst_asserted_at := o_burst_asserted_at - (v_mark - o_now);
        UPDATE ${s}.provider_budgets SET updated_at = o_updated_at,
          full_since = NULLIF(o_full_since, '-Infinity'::float8),
          rate_asserted_at = o_rate_asserted_at, burst_asserted_at = o_burst_asserted_at
        WHERE provider = p_provider;
      END IF;
      IF v_mark IS DISTINCT FROM o_now THEN
        INSERT INTO ${s}.mdp_meta (key, value) VALUES (p_mark_key, o_now::text)
        ON CONFLICT (key) DO UPDATE SET value = excluded.value;
      END IF;
    END
    $fn$
    `,
    `
    CREATE FUNCTION ${s}.mdp_budget_take(
      p_provider text, p_burst float8, p_rate_per_ms float8, p_phase_margin_ms float8,
      p_margin text, p_lock_ms integer, p_mark_key text, p_now float8,
      OUT o_wait_ms float8, OUT o_rate_per_ms float8, OUT o_burst float8)
    LANGUAGE plpgsql AS $fn$
    DECLARE
      r record;
      v_tokens float8;
      v_updated float8;
      v_full float8;
      v_reached float8;
      v_shift float8;
      v_hold float8;
      v_rate_at float8;
      v_burst_at float8;
      v_held_changed boolean;
    BEGIN
      SELECT * INTO r FROM ${s}.mdp_budget_row(p_provider, p_burst, p_now, p_lock_ms, p_mark_key);
      -- heldRate: p_rate_per_ms and p_burst become what the row holds this take to, so the rule
      -- below refills and caps by them (heldTo).
      v_rate_at := r.o_now;
      v_burst_at := r.o_now;
      IF r.o_rate_per_ms IS NOT NULL AND r.o_rate_asserted_at IS NOT NULL
        AND r.o_burst IS NOT NULL AND r.o_burst_asserted_at IS NOT NULL THEN
        v_hold := GREATEST(${HELD_RATE_MS}, ${HELD_RATE_INTERVALS} / r.o_rate_per_ms);
        IF p_rate_per_ms > r.o_rate_per_ms AND r.o_now - r.o_rate_asserted_at < v_hold THEN
          p_rate_per_ms := r.o_rate_per_ms;
          v_rate_at := r.o_rate_asserted_at;
        END IF;
        IF p_burst > r.o_burst AND r.o_now - r.o_burst_asserted_at < v_hold THEN
          p_burst := r.o_burst;
          v_burst_at := r.o_burst_asserted_at;
        END IF;
      END IF;
      v_held_changed := (r.o_rate_per_ms, r.o_rate_asserted_at, r.o_burst, r.o_burst_asserted_at)
        IS DISTINCT FROM (p_rate_per_ms, v_rate_at, p_burst, v_burst_at);
      o_rate_per_ms := p_rate_per_ms;
      o_burst := p_burst;
      v_tokens := r.o_tokens;
      v_updated := r.o_updated_at;
      v_full := r.o_full_since;
      -- refilled
      IF r.o_now > r.o_updated_at THEN
        v_reached := r.o_tokens + (r.o_now - r.o_updated_at) * p_rate_per_ms;
        v_tokens := LEAST(p_burst, v_reached);
        IF v_reached >= p_burst AND r.o_tokens < p_burst THEN
          v_full := r.o_updated_at + (p_burst - r.o_tokens) / p_rate_per_ms;
        END IF;
        v_updated := r.o_now;
      END IF;
      -- takeToken
      IF v_tokens < 1 THEN
        o_wait_ms := GREATEST(1, GREATEST(0, v_updated - r.o_now) + (1 - v_tokens) / p_rate_per_ms);
        -- A refused take asserts its rate too (see the SQLite store).
        IF v_held_changed THEN
          UPDATE ${s}.provider_budgets SET rate_per_ms = p_rate_per_ms,
            rate_asserted_at = v_rate_at, burst = p_burst, burst_asserted_at = v_burst_at
          WHERE provider = p_provider;
        END IF;
        RETURN;
      END IF;
      -- marginShiftMs of bucket-level.ts, branch for branch.
      IF p_margin = 'near-full' AND p_burst >= 2 THEN
        v_shift := CASE WHEN v_tokens >= 2
          THEN p_phase_margin_ms - (p_burst - v_tokens) / p_rate_per_ms ELSE 0 END;
      ELSIF v_tokens < p_burst THEN
        v_shift := 0;
      ELSIF r.o_now - v_full >= p_phase_margin_ms THEN
        v_shift := p_phase_margin_ms;
      ELSIF p_burst < 2 THEN
        -- BURST_ONE_MARGIN_SHARE of the interval, at most the phase margin.
        v_shift := LEAST(p_phase_margin_ms, 0.03 / p_rate_per_ms);
      ELSE
        v_shift := 0;
      END IF;
      IF v_shift > 0 THEN
        v_updated := GREATEST(v_updated, r.o_now + v_shift);
      END IF;
      UPDATE ${s}.provider_budgets SET tokens = v_tokens - 1, updated_at = v_updated,
        full_since = NULLIF(v_full, '-Infinity'::float8), rate_per_ms = p_rate_per_ms,
        rate_asserted_at = v_rate_at, burst = p_burst, burst_asserted_at = v_burst_at
      WHERE provider = p_provider;
      o_wait_ms := 0;
    END
    $fn$
    `,
    `
    CREATE FUNCTION ${s}.mdp_budget_pause(
      p_provider text, p_ms float8, p_lock_ms integer, p_mark_key text, p_now float8)
    RETURNS void
    LANGUAGE plpgsql AS $fn$
    DECLARE
      r record;
    BEGIN
      -- A provider nobody took from yet gets its row, empty until the pause ends.
      SELECT * INTO r FROM ${s}.mdp_budget_row(p_provider, 0, p_now, p_lock_ms, p_mark_key);
      IF r.o_now + p_ms > r.o_updated_at THEN
        UPDATE ${s}.provider_budgets SET tokens = 0, updated_at = r.o_now + p_ms
        WHERE provider = p_provider;
      END IF;
    END
    $fn$
    `,
  ];
}
