/** What one part of the process says about itself when /healthz is asked. */
export interface LivenessReport {
  readonly ok: boolean;
  /** Shown after the check's name, e.g. "last beat 2026-12-01T18:00:00Z". */
  readonly detail?: string;
}

export type LivenessCheck = () => LivenessReport;

/**
 * The named checks /healthz answers with, registered by the parts of a long-running process
 * (e.g. the scheduler's "alive" with its last beat). With none registered the process is alive
 * when it answers at all.
 */
export class LivenessChecks {
  private readonly checks = new Map<string, LivenessCheck>();

  /** Adds (or replaces) the check `name`; returns the function that removes it. */
  register(name: string, check: LivenessCheck): () => void {
    this.checks.set(name, check);
    return () => {
      if (this.checks.get(name) === check) this.checks.delete(name);
    };
  }

  /** Every check's report, in name order; a check that throws reports not ok with its message. */
  report(): { ok: boolean; checks: { name: string; report: LivenessReport }[] } {
    const checks = [...this.checks.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, check]) => ({ name, report: safely(check) }));
    return { ok: checks.every((entry) => entry.report.ok), checks };
  }
}

function safely(check: LivenessCheck): LivenessReport {
  try {
    return check();
  } catch (error: unknown) {
    return { ok: false, detail: `the check threw: ${String(error)}` };
  }
}
