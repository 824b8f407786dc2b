// The map beside the list: the API's server-side clusters (GET /v1/search/map, geotile cells)
// for exactly the list's filters, so their counts add up to the list's total. Country outlines
// come from Natural Earth (world-atlas); tiles only when the deployment configures a server.
import L from "leaflet";
import { feature } from "topojson-client";
import { api } from "../api.js";
import { session } from "../session.js";
import { el } from "../ui.js";

export const WORLD = "-180,-90,180,90";

let outlines = null;
async function countries() {
  if (!outlines) {
    outlines = fetch("countries-110m.json")
      .then((r) => r.json())
      .then((topo) => feature(topo, topo.objects.countries));
  }
  return outlines;
}

const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

export function boundsToBbox(bounds) {
  const r = (v) => Math.round(v * 1e5) / 1e5;
  return [
    r(clamp(bounds.getWest(), -180, 180)),
    r(clamp(bounds.getSouth(), -90, 90)),
    r(clamp(bounds.getEast(), -180, 180)),
    r(clamp(bounds.getNorth(), -90, 90)),
  ].join(",");
}

// `onMove(bbox)` runs when the user moves or zooms the map (never for our own view changes).
export function createMap(onMove) {
  const container = el("div", { class: "map", role: "region", "aria-label": "Map of the results" });
  const summary = el("p", { class: "map-total", id: "map-total", role: "status" }, " ");
  const wrapper = el("section", { class: "map-panel", "aria-label": "Map" }, summary, container);
  let map = null;
  let layer = null;
  let ours = 0; // view changes we made ourselves; their moveend is not the user's
  let generation = 0;

  function mount() {
    map = L.map(container, { worldCopyJump: false, minZoom: 1, maxBounds: [[-90, -200], [90, 200]] });
    ours++;
    map.setView([30, 10], 2);
    if (session.config.tile_url) {
      L.tileLayer(session.config.tile_url, { attribution: session.config.tile_attribution, maxZoom: 19 }).addTo(map);
    }
    countries().then((geo) => {
      if (!map) return; // the view was left before the outlines arrived
      L.geoJSON(geo, { style: { color: "#8a96a3", weight: 0.6, fillColor: "#eef1ef", fillOpacity: 1 }, interactive: false })
        .addTo(map)
        .bringToBack();
    });
    layer = L.layerGroup().addTo(map);
    map.on("moveend", () => {
      if (ours > 0) {
        ours--;
        return;
      }
      onMove(boundsToBbox(map.getBounds()));
    });
  }

  function icon(count) {
    const size = count >= 1000 ? 52 : count >= 100 ? 44 : count >= 10 ? 36 : 30;
    return L.divIcon({
      className: "cluster",
      html: `<span>${count}</span>`,
      iconSize: [size, size],
    });
  }

  // Draws the clusters of `params` (the list's filters) in `bbox` (the list's area, or the
  // world while the list has none).
  async function update(params) {
    if (!map) mount();
    const mine = ++generation;
    wrapper.setAttribute("aria-busy", "true");
    const bbox = params.bbox || WORLD;
    try {
      const result = await api.map({ ...params, bbox, zoom: Math.round(map.getZoom()) });
      if (mine !== generation || !map) return;
      layer.clearLayers();
      let sum = 0;
      for (const c of result.clusters) {
        sum += c.count;
        const marker = L.marker([c.lat, c.lon], {
          icon: icon(c.count),
          keyboard: true,
          title: `${c.count} listing${c.count === 1 ? "" : "s"} here`,
          alt: `${c.count} listings`,
        });
        marker.on("add", () => {
          const node = marker.getElement();
          node.dataset.count = String(c.count);
          node.setAttribute("aria-label", `${c.count} listing${c.count === 1 ? "" : "s"}: zoom in`);
        });
        marker.on("click", () => {
          const [w, s, e, n] = c.bbox;
          if (c.count === 1 && c.listing_ids.length === 1) {
            location.hash = `#/listing/${c.listing_ids[0]}`;
            return;
          }
          map.fitBounds([[s, w], [n, e]], { maxZoom: 14 }); // the user's move: searches there
        });
        layer.addLayer(marker);
      }
      summary.textContent = `${sum} on the map`;
      summary.dataset.sum = String(sum);
      summary.dataset.total = String(result.total);
    } catch (err) {
      if (mine === generation) {
        layer.clearLayers(); // stale clusters would contradict the list
        delete summary.dataset.sum;
        summary.textContent = `Map unavailable: ${err.message}`;
      }
    } finally {
      if (mine === generation) wrapper.removeAttribute("aria-busy");
    }
  }

  function showArea(bbox) {
    if (!map) mount();
    const [w, s, e, n] = bbox.split(",").map(Number);
    ours++;
    map.fitBounds([[s, w], [n, e]], { animate: false });
  }

  function destroy() {
    generation++; // answers still in flight find no map to draw on
    map?.remove();
    map = null;
  }

  // Leaflet measures its container: size it once the panel is in the document.
  const ready = () => map?.invalidateSize();
  return { element: wrapper, update, showArea, destroy, ready, get map() { return map; } };
}
