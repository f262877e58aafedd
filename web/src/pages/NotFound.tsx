import { Link } from '../router.tsx';

export function NotFound({ path }: { path: string }) {
  return (
    <>
      <h1>Page not found</h1>
      <div className="card">
        <p>
          There is no page at <code>{path}</code>.
        </p>
        <p>
          <Link to="/">Go to the overview</Link>
        </p>
      </div>
    </>
  );
}
