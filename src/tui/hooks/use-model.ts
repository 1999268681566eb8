/**
 * Redraws from the model at most once every `ms`: a burst of thousands of
 * events (a big sync) becomes a few frames, not thousands. The first change
 * after a quiet spell is drawn at once.
 */
import { useEffect, useState } from 'react';
import type { Model } from '../model.js';

export const THROTTLE_MS = 100;

export function useModel(model: Model, ms = THROTTLE_MS): number {
  const [version, setVersion] = useState(model.version);
  useEffect(() => {
    let last = 0;
    let timer: NodeJS.Timeout | undefined;
    const draw = () => {
      timer = undefined;
      last = Date.now();
      setVersion(model.version);
    };
    const off = model.onChange(() => {
      if (timer) return;
      const wait = last + ms - Date.now();
      if (wait <= 0) draw();
      else timer = setTimeout(draw, wait);
    });
    return () => {
      off();
      clearTimeout(timer);
    };
  }, [model, ms]);
  return version;
}
