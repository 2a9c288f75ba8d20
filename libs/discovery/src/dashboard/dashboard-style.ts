/** The dashboard page's style sheet (see `dashboard-page.ts`). */
export const dashboardStyle = `
  :root { --line: #e3e6ea; --muted: #6b7280; --up: #15803d; --draining: #b45309; --down: #b91c1c; }
  * { box-sizing: border-box; }
  body {
    font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
    margin: 0; color: #1f2937; background: #f6f7f9;
  }
  header {
    background: #111827; color: #f9fafb; padding: .8rem 1.5rem;
    display: flex; gap: 1rem; align-items: baseline; flex-wrap: wrap;
  }
  header h1 { font-size: 1.1rem; margin: 0; font-weight: 600; }
  header .meta { color: #cbd5e1; font-size: .85rem; }
  header .status-up { color: #86efac; } header .status-draining { color: #fcd34d; }
  #live { font-size: .8rem; padding: .1rem .5rem; border-radius: 1rem; background: #374151; }
  #live.on { background: var(--up); }
  main { display: grid; grid-template-columns: minmax(0, 1fr) 22rem; gap: 1.2rem; padding: 1.2rem 1.5rem; }
  @media (max-width: 1000px) { main { grid-template-columns: 1fr; } }
  section.service {
    background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: .8rem 1rem; margin-bottom: 1rem;
  }
  section.service h2 {
    font-size: 1rem; margin: 0 0 .5rem; display: flex; gap: .6rem; align-items: baseline; flex-wrap: wrap;
  }
  .badge {
    font-size: .75rem; font-weight: 500; padding: .05rem .45rem; border-radius: 1rem;
    background: #eef2f7; color: #374151;
  }
  .policy { margin: .3rem 0 .5rem; font-size: .85rem; }
  .badge.warn { background: #fef3c7; color: #92400e; }
  .chips { display: flex; flex-wrap: wrap; gap: .3rem; margin: .2rem 0 .6rem; }
  .chip {
    font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; padding: .1rem .4rem; border-radius: 4px;
    background: #eef6ff; border: 1px solid #cfe3fb;
  }
  .chip.event { background: #f3efff; border-color: #ddd2fb; }
  .chip.partial { border-style: dashed; }
  .chip .n { color: var(--muted); margin-left: .3rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .3rem .6rem .3rem 0; border-top: 1px solid var(--line); vertical-align: top; }
  th { font-weight: 500; color: var(--muted); font-size: .8rem; border-top: 0; }
  td.mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; }
  .status-up { color: var(--up); } .status-draining { color: var(--draining); } .status-down { color: var(--down); }
  .muted { color: var(--muted); }
  .minute { font-size: .78rem; }
  aside { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: .8rem 1rem; align-self: start; }
  aside h2 { font-size: 1rem; margin: 0 0 .5rem; }
  aside ol { list-style: none; margin: 0; padding: 0; max-height: 70vh; overflow: auto; }
  aside li { padding: .3rem 0; border-top: 1px solid var(--line); font-size: .85rem; }
  .t-added { color: var(--up); } .t-removed { color: var(--down); } .t-updated { color: var(--draining); }
`;
