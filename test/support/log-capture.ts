/** Placeholder: replaced by the suite-wide log capture. */
export {};
