// Files imported as text by the tests (`import text from "./x.md?raw"`, a feature of Vite).
declare module "*?raw" {
  const text: string;
  export default text;
}
