/** Placeholder: replaced by the leak-scan global setup. */
export default function setup(): void {}
