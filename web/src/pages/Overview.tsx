import { Fragment } from 'react';
import { parts } from '../dashboard.ts';

/** Every capability's cards, in navigation order. */
export function Overview() {
  return (
    <>
      <h1>Overview</h1>
      <div className="grid">{parts.map(([name, part]) => (part.overview ? <Fragment key={name}>{part.overview()}</Fragment> : null))}</div>
    </>
  );
}
