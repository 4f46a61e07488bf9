import { useState } from "react";

export default function App() {
  const [count, setCount] = useState(0);
  return (
    <main>
      <h1>{{title}}</h1>
      <div className="card">
        <p className="muted">Edit src/App.tsx, then `kz build` and `kz run`.</p>
        <button onClick={() => setCount((c) => c + 1)}>Clicked {count} times</button>
      </div>
    </main>
  );
}
