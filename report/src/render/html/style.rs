//! The page's one inline stylesheet (the Content-Security-Policy allows inline styles only).

/// Readable tables (wide ones scroll inside their box, the verdict columns first), verdicts
/// coloured by class, the summary at the top, plots beside their sections.
pub(super) const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1a1a1a;\
background:#fafafa;line-height:1.45}\
main{max-width:1100px;margin:0 auto;padding:16px 24px 48px;background:#fff}\
h1{font-size:1.7em;border-bottom:2px solid #333;padding-bottom:6px}\
h2{font-size:1.35em;border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:1.8em}\
h3{font-size:1.12em;margin-top:1.4em}h4{font-size:1em;margin-top:1.2em}\
a.self{margin-left:.4em;color:#aaa;text-decoration:none;font-weight:normal}\
a.self:hover{color:#06c}\
nav ul{columns:2;font-size:.92em}\
.scroll{overflow-x:auto;margin:.6em 0}\
table{border-collapse:collapse;font-size:.88em}\
th,td{border:1px solid #d0d0d0;padding:3px 8px;text-align:left;white-space:nowrap}\
th{background:#f0f0f0}tbody tr:nth-child(even){background:#fafafa}\
td.reason{white-space:normal;min-width:16em}\
.verdict-pass{background:#dcf2dc;color:#0b560b}\
.verdict-drift{background:#e0ecf8;color:#0a4577}\
.verdict-fail{background:#fad4d4;color:#8a0000;font-weight:bold}\
.verdict-incomplete{background:#fff0c2;color:#6b4400;font-weight:bold}\
.verdict-skipped{background:#ececec;color:#505050}\
strong[class]{padding:0 5px;border-radius:3px}\
.nonfinite{color:#a00000;font-weight:bold}\
.summary{border:1px solid #c8c8c8;border-radius:6px;padding:4px 16px 8px;margin:12px 0 18px}\
.summary .global{font-size:1.15em;margin:.5em 0}\
.badge{font-size:1.1em}\
table.grid td,table.grid th{vertical-align:top}\
table.grid a{color:inherit}\
.counts{display:block;font-size:.85em;font-weight:normal}\
code{background:#f3f3f3;padding:0 3px;border-radius:3px;font-size:.92em}\
pre{background:#f3f3f3;padding:8px;overflow-x:auto}\
figure{margin:1em 0}figure svg{max-width:100%;height:auto;border:1px solid #e0e0e0}\
figcaption{font-size:.85em;color:#555}";
