// A spinner on stderr for anything that takes more than a second, and only when stderr is a
// terminal: pipes, files and tests see nothing.
const spinnerDelayMs = 1000;
const spinnerFrameMs = 100;
const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export class Spinner {
  private timer: NodeJS.Timeout | null = null;
  private frame = 0;
  private shown = false;
  private readonly startedMs = Date.now();

  constructor(private label: string, private readonly stream: NodeJS.WriteStream = process.stderr) {
    if (this.stream.isTTY !== true) return;
    this.timer = setInterval(() => this.draw(), spinnerFrameMs);
    this.timer.unref();
  }

  /** Changes the text beside the spinner (a count, a phase). */
  update(label: string): void {
    this.label = label;
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (this.shown) this.stream.write('\r\x1b[K');
    this.shown = false;
  }

  private draw(): void {
    if (Date.now() - this.startedMs < spinnerDelayMs) return;
    this.shown = true;
    this.frame = (this.frame + 1) % frames.length;
    this.stream.write(`\r${frames[this.frame]} ${this.label}\x1b[K`);
  }
}

export async function withSpinner<T>(label: string, work: () => Promise<T>): Promise<T> {
  const spinner = new Spinner(label);
  try {
    return await work();
  } finally {
    spinner.stop();
  }
}
