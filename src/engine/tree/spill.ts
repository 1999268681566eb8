/**
 * Where an open file's written bytes wait for the commit: in memory while they
 * fit in MEMORY_MAX, then in a sparse temp file. Most files are small, and a
 * small file then costs no temp file at all.
 */
import { open, rm, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

const MEMORY_MAX = 1 << 20;

export class Spill {
  private mem: Buffer | undefined = Buffer.alloc(0);
  private file?: FileHandle;
  private path?: string;

  constructor(
    private readonly tmpDir: string,
    private readonly label: string,
  ) {}

  async write(data: Buffer, position: number): Promise<void> {
    const end = position + data.length;
    if (this.mem && end <= MEMORY_MAX) {
      if (end > this.mem.length) {
        const grown = Buffer.alloc(Math.min(MEMORY_MAX, Math.max(end, this.mem.length * 2)));
        this.mem.copy(grown);
        this.mem = grown;
      }
      data.copy(this.mem, position);
      return;
    }
    const file = await this.toFile();
    for (let done = 0; done < data.length; ) {
      done += (await file.write(data, done, data.length - done, position + done)).bytesWritten;
    }
  }

  /**
   * Reads bytes that were written (the caller knows which) into buf at `at`.
   * All `length` bytes of buf are set: any the buffer does not have read as
   * zeros, never as what buf held before.
   */
  async read(buf: Buffer, at: number, length: number, position: number): Promise<void> {
    let done = 0;
    if (this.mem) done = position < this.mem.length ? this.mem.copy(buf, at, position, Math.min(position + length, this.mem.length)) : 0;
    else {
      while (done < length) {
        const { bytesRead } = await this.file!.read(buf, at + done, length - done, position + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
    }
    if (done < length) buf.fill(0, at + done, at + length);
  }

  /** Forgets everything written; keeps the temp file, if any, for reuse. */
  async reset(): Promise<void> {
    if (this.file) await this.file.truncate(0);
    else this.mem = Buffer.alloc(0);
  }

  async close(): Promise<void> {
    this.mem = undefined;
    if (this.file) {
      await this.file.close();
      await rm(this.path!, { force: true });
      this.file = undefined;
    }
  }

  private async toFile(): Promise<FileHandle> {
    if (!this.file) {
      this.path = join(this.tmpDir, `open-${this.label}-${randomBytes(4).toString('hex')}`);
      this.file = await open(this.path, 'wx+', 0o600);
      if (this.mem?.length) await this.file.write(this.mem, 0, this.mem.length, 0);
      this.mem = undefined;
    }
    return this.file;
  }
}
