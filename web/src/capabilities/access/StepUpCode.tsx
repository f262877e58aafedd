/** The second-factor code a sensitive action's form or dialog asks for (it steps the session up), and the refusal, if any. */
export function StepUpCode({ id, code, setCode, error }: { id: string; code: string; setCode: (code: string) => void; error?: string }) {
  return (
    <>
      <label htmlFor={id}>Your second-factor code (if you have one)</label>
      <input
        id={id}
        inputMode="numeric"
        autoComplete="one-time-code"
        value={code}
        onChange={(e) => setCode(e.target.value)}
        data-testid={id}
      />
      {error ? (
        <p className="banner banner-error" role="alert">
          {error}
        </p>
      ) : null}
    </>
  );
}
