/* Synapse bridge (protocol 1): talks to the workspace that frames this app. */
(function () {
  var APP = "{{slug}}";
  var host = {{bridge_host}};
  var framed = !!host && host !== window;
  var root = document.documentElement;
  var store = (window.__synapse = window.__synapse || {});
  if (window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches) {
    root.classList.add("dark");
  }
  function newId() {
    return Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
  }
  function send(type, payload) {
    if (!framed) return;
    host.postMessage(
      { synapse: 1, id: newId(), ts: Date.now(), type: type, from: APP, payload: payload },
      "*"
    );
  }
  store.send = send;
  window.addEventListener("message", function (event) {
    var m = event.data;
    if (!m || m.synapse !== 1 || typeof m.type !== "string") return;
    switch (m.type) {
      case "synapse:theme":
        store.theme = m.payload;
        if (m.payload && m.payload.resolved) {
          root.classList.toggle("dark", m.payload.resolved === "dark");
        }
        break;
      case "synapse:locale":
        store.locale = m.payload;
        break;
      case "synapse:user":
        store.user = m.payload;
        break;
      case "synapse:hello":
        store.host = m.payload;
        break;
      case "synapse:ping":
        send("synapse:pong", {});
        break;
      default:
        break; /* unknown types are ignored, as the protocol says */
    }
  });
  var queued = false;
  function resize() {
    if (queued) return;
    queued = true;
    window.requestAnimationFrame(function () {
      queued = false;
      send("synapse:resize", { height: Math.ceil(root.getBoundingClientRect().height) });
    });
  }
  if (window.ResizeObserver) new ResizeObserver(resize).observe(root);
  send("synapse:ready", { app: APP, bridge: 1 });
})();
