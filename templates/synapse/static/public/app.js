// Relative URLs only: the page is served under the workspace proxy's prefix.
fetch("health")
  .then((r) => r.json())
  .then((h) => {
    document.getElementById("status").textContent = "health: " + h.status;
  })
  .catch(() => {});
