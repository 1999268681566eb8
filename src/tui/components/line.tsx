/** One line of text in its tone: colored, unless NO_COLOR is set (https://no-color.org), where only bold, dim and inverse remain. */
import { Text } from 'ink';
import type { Tone } from '../panels/panel.js';

const COLORS: Record<Tone, string | undefined> = { good: 'green', bad: 'red', warn: 'yellow', dim: undefined, accent: 'cyan' };

export const noColor = () => Boolean(process.env.NO_COLOR);

export function LineText({ text, tone, selected, bold }: { text: string; tone?: Tone; selected?: boolean; bold?: boolean }) {
  const color = tone && !noColor() ? COLORS[tone] : undefined;
  return (
    <Text color={color} dimColor={tone === 'dim' && !selected} inverse={selected} bold={bold} wrap="truncate-end">
      {text || ' '}
    </Text>
  );
}
