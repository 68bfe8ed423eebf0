/* twin's HTML pages: the maps (Leaflet, vendored), the language switch, the page-size
   picker and the API overview. No inline script anywhere: every page reads what it needs
   from data-* attributes, so the Content-Security-Policy allows this server's files only. */
(function () {
  "use strict";

  var CRS84 = ["", "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
    "http://www.opengis.net/def/crs/EPSG/0/4326", "EPSG:4326", "CRS84", "OGC:CRS84"];
  var STYLE = { color: "#0b5cad", weight: 2, opacity: 0.9, fillColor: "#3d8bd9", fillOpacity: 0.25 };

  function json(text) {
    if (!text) { return null; }
    try { return JSON.parse(text); } catch (e) { return null; }
  }

  function lonLat(data) {
    // GeoJSON in another CRS (crs=EPSG:3405 ...) cannot be drawn on a lon/lat map.
    var crs = new URLSearchParams(window.location.search).get("crs") || "";
    return CRS84.indexOf(crs) >= 0;
  }

  function say(el, text) {
    if (!text) { return; }
    var p = document.createElement("p");
    p.className = "map-message";
    p.textContent = text;
    el.parentNode.insertBefore(p, el.nextSibling);
  }

  function popup(el, feature) {
    var base = el.dataset.itemBase;
    var field = el.dataset.titleField;
    var props = feature.properties || {};
    var label = (field && props[field] != null) ? String(props[field]) : String(feature.id);
    var box = document.createElement("span");
    if (base && feature.id != null) {
      var a = document.createElement("a");
      a.href = base + "/" + encodeURIComponent(feature.id);
      a.textContent = label;
      box.appendChild(a);
    } else {
      box.textContent = label;
    }
    return box;
  }

  function featureLayer(el, data) {
    return L.geoJSON(data, {
      style: function () { return STYLE; },
      pointToLayer: function (f, latlng) {
        return L.circleMarker(latlng, { radius: 6, color: "#0b5cad", weight: 2,
          fillColor: "#ffd400", fillOpacity: 0.9 });
      },
      onEachFeature: function (f, layer) {
        layer.bindPopup(function () { return popup(el, f); });
      }
    });
  }

  function bboxLayer(bbox) {
    var b = (bbox && Array.isArray(bbox[0])) ? bbox[0] : bbox;
    if (!b || b.length < 4) { return null; }
    var n = b.length === 6 ? 3 : 2;
    var s = Math.max(-90, b[1]), w = Math.max(-180, b[0]);
    var nn = Math.min(90, b[n + 1]), e = Math.min(180, b[n]);
    return L.rectangle([[s, w], [nn, e]], { color: "#5c636b", weight: 1, dashArray: "4 4",
      fill: false, interactive: false });
  }

  function fit(map, layers) {
    for (var i = 0; i < layers.length; i++) {
      var layer = layers[i];
      if (layer && layer.getBounds) {
        var b = layer.getBounds();
        if (b.isValid()) { map.fitBounds(b, { maxZoom: 16, padding: [12, 12] }); return true; }
      }
    }
    map.setView([0, 0], 1);
    return false;
  }

  function drawMap(el) {
    if (typeof L === "undefined") { return; }
    var map = L.map(el, { attributionControl: true, zoomControl: false });
    L.control.zoom({ zoomInTitle: el.dataset.msgZoomIn || "+",
      zoomOutTitle: el.dataset.msgZoomOut || "-" }).addTo(map);
    // "Leaflet" and a basemap's credits are names, not texts to translate
    map.attributionControl.getContainer().setAttribute("translate", "no");
    el.twinMap = map;
    if (el.dataset.basemap) {
      L.tileLayer(el.dataset.basemap, { maxZoom: 19,
        attribution: el.dataset.attribution || "" }).addTo(map);
    }
    var extent = bboxLayer(json(el.dataset.bbox));
    if (extent && el.dataset.image) {
      var picture = L.imageOverlay(el.dataset.image, extent.getBounds(), { opacity: 0.85 });
      picture.on("load", function () { el.dataset.pictured = "true"; });
      picture.addTo(map);
    }
    if (extent) { extent.addTo(map); }
    var data = json(el.dataset.geojson);
    if (data && !lonLat(data)) {
      say(el, el.dataset.msgCrs);
      fit(map, [extent]);
      return;
    }
    if (data) {
      var layer = featureLayer(el, data).addTo(map);
      fit(map, [layer, extent]);
      if (!layer.getLayers().length) { say(el, el.dataset.msgEmpty); }
      el.dataset.drawn = String(layer.getLayers().length);
      return;
    }
    fit(map, [extent]);
    if (el.dataset.items) {
      fetch(el.dataset.items, { headers: { Accept: "application/geo+json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (fc) {
          if (!fc) { say(el, el.dataset.msgEmpty); el.dataset.drawn = "0"; return; }
          var layer = featureLayer(el, fc).addTo(map);
          if (extent) { extent.bringToBack(); }
          fit(map, [layer, extent]);
          el.dataset.drawn = String(layer.getLayers().length);
        })
        .catch(function () { say(el, el.dataset.msgEmpty); el.dataset.drawn = "0"; });
    } else {
      el.dataset.drawn = "0";
    }
  }

  function languageLinks() {
    var links = document.querySelectorAll("a[data-lang]");
    for (var i = 0; i < links.length; i++) {
      var url = new URL(window.location.href);
      url.searchParams.set("lang", links[i].dataset.lang);
      links[i].href = url.pathname + url.search;
    }
  }

  function limitPicker() {
    var select = document.getElementById("limit");
    if (!select) { return; }
    var current = new URLSearchParams(window.location.search).get("limit");
    if (current) { select.value = current; }
    select.addEventListener("change", function () {
      var url = new URL(window.location.href);
      url.searchParams.set("limit", select.value);
      url.searchParams.delete("offset");
      window.location.href = url.pathname + url.search;
    });
  }

  function apiOverview() {
    var table = document.getElementById("api-paths");
    if (!table) { return; }
    fetch(table.dataset.src, { headers: { Accept: "application/vnd.oai.openapi+json;version=3.0" } })
      .then(function (r) { return r.json(); })
      .then(function (doc) {
        var body = table.querySelector("tbody");
        Object.keys(doc.paths || {}).sort().forEach(function (path) {
          var ops = doc.paths[path];
          Object.keys(ops).forEach(function (method) {
            var op = ops[method];
            if (!op || typeof op !== "object" || !op.responses) { return; }
            var tr = document.createElement("tr");
            [method.toUpperCase(), path, op.summary || op.description || ""].forEach(function (v, i) {
              var td = document.createElement("td");
              if (i === 1) { var c = document.createElement("code"); c.textContent = v; td.appendChild(c); }
              else { td.textContent = v; }
              td.setAttribute("translate", "no");
              tr.appendChild(td);
            });
            body.appendChild(tr);
          });
        });
        table.dataset.loaded = "true";
      });
  }

  function start() {
    languageLinks();
    limitPicker();
    apiOverview();
    var maps = document.querySelectorAll(".twin-map");
    for (var i = 0; i < maps.length; i++) { drawMap(maps[i]); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
