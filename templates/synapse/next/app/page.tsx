export default function Page() {
  return (
    <main>
      <h1>{{title}}</h1>
      <div className="card">
        <p className="muted">Edit app/page.tsx, then `kz build` and `kz run`.</p>
      </div>
    </main>
  );
}
