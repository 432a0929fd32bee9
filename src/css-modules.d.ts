// Stylesheets are imported as their text (wrangler.toml `rules`, esbuild's text loader).
declare module "*.css" {
  const text: string;
  export default text;
}
