import Script from "next/script";
import "./globals.css";

export const metadata = { title: "{{title}}" };

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en" suppressHydrationWarning>
      <body>
        {/* The bridge loads before hydration; inside <body>, as Turbopack needs. */}
        <Script src="/synapse-bridge.js" strategy="beforeInteractive" />
        {children}
      </body>
    </html>
  );
}
