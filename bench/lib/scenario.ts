/** What every scenario hands back to the runner. */

/** A timing target: reported (met or missed, by how much), never asserted. */
export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean;
  /** By how much it was missed and what would close it (for missed targets). */
  readonly note?: string;
}

/** A chart written beside docs/benchmarks.md. */
export interface Chart {
  /** File name under docs/benchmarks/. */
  readonly file: string;
  readonly alt: string;
  readonly svg: string;
}

/** The outcome of one scenario. */
export interface ScenarioReport {
  readonly id: string;
  readonly title: string;
  /** The section body of docs/benchmarks.md (markdown, without the heading). */
  readonly markdown: string;
  /** The figures printed to the terminal. */
  readonly console: readonly string[];
  readonly targets: readonly TargetCheck[];
  /** Hard invariants that broke; any entry makes the run exit non-zero. */
  readonly violations: readonly string[];
  readonly charts: readonly Chart[];
  readonly durationMs: number;
}

/** A runnable scenario. `quick` shrinks it for smoke runs (figures are then not representative). */
export interface Scenario {
  readonly id: string;
  readonly title: string;
  run(options: { readonly quick: boolean; readonly log: (line: string) => void }): Promise<ScenarioReport>;
}
