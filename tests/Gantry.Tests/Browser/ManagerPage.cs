using System.Net;
using System.Text;
using Gantry.Tests.Support;

namespace Gantry.Tests.Browser;

/// <summary>
/// The admin GUI's origin for the browser test: a loopback static server that serves, under
/// <c>/manager</c>, a kconfig.js naming the Admin API (as Kong serves Kong Manager's) and a page that drives
/// the Admin API the way Kong Manager does, writing each step's outcome into the DOM.
/// </summary>
public sealed class ManagerPage(string adminApiUrl) : LoopbackServer(concurrent: true)
{
    public string Origin => $"http://127.0.0.1:{Port}";

    public string PageUrl => $"{Origin}/manager/";

    protected override async Task HandleAsync(HttpListenerContext context)
    {
        var (type, body) = context.Request.Url!.AbsolutePath switch
        {
            "/manager/" => ("text/html; charset=utf-8", Page),
            "/manager/kconfig.js" => ("application/javascript", $"window.K_CONFIG = {{ 'ADMIN_API_URL': '{adminApiUrl}', 'ADMIN_GUI_PATH': '/manager' }};\n"),
            _ => (null, null),
        };
        using var response = context.Response;
        if (body is null)
        {
            response.StatusCode = 404;
            return;
        }
        var bytes = Encoding.UTF8.GetBytes(body);
        response.ContentType = type;
        response.ContentLength64 = bytes.Length;
        await response.OutputStream.WriteAsync(bytes);
    }

    // Every call is cross-origin, with credentials: 'include' and JSON bodies, so POST, PATCH and DELETE each
    // go through a preflight, and an answer the browser refuses surfaces as a failed fetch (status 0).
    private const string Page = """
        <!doctype html>
        <html>
        <head>
          <meta charset="utf-8">
          <title>Gantry admin GUI check</title>
          <script src="/manager/kconfig.js"></script>
          <style>
            body { font-family: sans-serif; margin: 24px; }
            table { border-collapse: collapse; }
            td, th { border: 1px solid #999; padding: 4px 10px; text-align: left; }
            tr[data-ok="true"] td.result { background: #cfc; }
            tr[data-ok="false"] td.result { background: #fcc; }
          </style>
        </head>
        <body data-state="running">
          <h1>Kong Manager calls against Gantry</h1>
          <p id="api"></p>
          <table><thead><tr><th>step</th><th>request</th><th>status</th><th class="result">result</th></tr></thead>
          <tbody id="steps"></tbody></table>
          <script>
          const api = window.K_CONFIG.ADMIN_API_URL;
          document.getElementById('api').textContent = 'Admin API: ' + api;
          const results = [];
          window.results = results;

          async function call(method, path, body) {
            const init = { method, credentials: 'include', headers: { 'Accept': 'application/json' } };
            if (body !== undefined) {
              init.headers['Content-Type'] = 'application/json';
              init.body = JSON.stringify(body);
            }
            try {
              const response = await fetch(api + path, init);
              const text = await response.text();
              return { status: response.status, json: text ? JSON.parse(text) : null };
            } catch (e) {
              return { status: 0, json: null, error: String(e) };
            }
          }

          function report(name, request, status, ok, note) {
            results.push({ name, request, status, ok, note });
            const row = document.createElement('tr');
            row.dataset.step = name;
            row.dataset.ok = String(ok);
            for (const [text, cls] of [[name], [request], [String(status)], [ok ? 'ok' : 'FAILED ' + note, 'result']]) {
              const cell = document.createElement('td');
              cell.textContent = text;
              if (cls) cell.className = cls;
              row.appendChild(cell);
            }
            document.getElementById('steps').appendChild(row);
          }

          async function step(name, method, path, body, expected, check) {
            const r = await call(method, path, body);
            let ok = r.status === expected;
            let note = r.error || '';
            if (ok && check) {
              try { const c = check(r.json); ok = c === true; if (c !== true) note = String(c); }
              catch (e) { ok = false; note = String(e); }
            }
            report(name, method + ' ' + path, r.status, ok, note);
            return r.json;
          }

          async function run() {
            const tag = 'km-' + Math.random().toString(36).slice(2, 10);
            await step('root', 'GET', '/', undefined, 200, j => typeof j.version === 'string' || 'no version');
            await step('service schema', 'GET', '/schemas/services', undefined, 200,
              j => j.fields.some(f => 'host' in f) || 'no host field');
            await step('route schema', 'GET', '/schemas/routes', undefined, 200,
              j => j.fields.some(f => 'paths' in f) || 'no paths field');
            await step('plugin schema', 'GET', '/schemas/plugins/rate-limiting', undefined, 200,
              j => JSON.stringify(j).includes('minute') || 'no minute field');
            await step('invalid service', 'POST', '/services', { name: tag + '-bad', port: 'x' }, 400,
              j => j.name === 'schema violation' || ('name ' + j.name));
            const service = await step('create service', 'POST', '/services',
              { name: tag + '-a', url: 'http://upstream.test:8080/a', tags: [tag] }, 201, j => j.port === 8080 || 'port ' + j.port);
            await step('create service 2', 'POST', '/services',
              { name: tag + '-b', host: 'upstream.test', tags: [tag] }, 201);
            await step('edit service', 'PATCH', '/services/' + service.id, { retries: 3, read_timeout: 1234 }, 200,
              j => (j.retries === 3 && j.read_timeout === 1234) || 'not updated');
            const route = await step('create route', 'POST', '/services/' + service.id + '/routes',
              { name: tag + '-r', paths: ['/' + tag], methods: ['GET'], tags: [tag] }, 201,
              j => j.service.id === service.id || 'wrong service');
            await step('edit route', 'PATCH', '/routes/' + route.id, { strip_path: false, paths: ['/' + tag + '/v2'] }, 200,
              j => (j.strip_path === false && j.paths[0] === '/' + tag + '/v2') || 'not updated');
            const plugin = await step('create plugin', 'POST', '/services/' + service.id + '/plugins',
              { name: 'rate-limiting', config: { minute: 10, policy: 'local' } }, 201,
              j => j.config.minute === 10 || 'minute ' + j.config.minute);
            await step('edit plugin', 'PATCH', '/plugins/' + plugin.id, { config: { minute: 20 } }, 200,
              j => j.config.minute === 20 || 'minute ' + j.config.minute);
            await step('plugins of service', 'GET', '/services/' + service.id + '/plugins', undefined, 200,
              j => (j.data.length === 1 && j.data[0].id === plugin.id) || 'count ' + j.data.length);

            // Pagination as the GUI's tables do it: size, then the offset from each page until there is none.
            let seen = [], offset = null, pages = 0;
            do {
              const path = '/services?tags=' + tag + '&size=1' + (offset ? '&offset=' + encodeURIComponent(offset) : '');
              const page = await step('services page ' + (pages + 1), 'GET', path, undefined, 200,
                j => (j.data.length <= 1 && (j.offset == null) === (j.next == null)) || 'bad page');
              if (!page) break;
              seen.push(...page.data.map(s => s.name));
              offset = page.offset;
              pages++;
            } while (offset && pages < 5);
            report('pagination', pages + ' pages of /services', 200,
              pages >= 2 && seen.sort().join(',') === [tag + '-a', tag + '-b'].join(','), seen.join(','));

            await step('delete plugin', 'DELETE', '/plugins/' + plugin.id, undefined, 204);
            await step('delete route', 'DELETE', '/routes/' + route.id, undefined, 204);
            await step('delete service', 'DELETE', '/services/' + service.id, undefined, 204);
            await step('delete service 2', 'DELETE', '/services/' + tag + '-b', undefined, 204);
            await step('service gone', 'GET', '/services/' + service.id, undefined, 404,
              j => j.message === 'Not found' || j.message);
          }

          run().catch(e => report('script', 'page script', 0, false, String(e)))
               .finally(() => { document.body.dataset.state = 'done'; });
          </script>
        </body>
        </html>
        """;
}
