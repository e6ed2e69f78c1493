// Runs a test file on the backend named by EQUIGRAD_BACKEND (default: reference).
import { setBackend } from "@equigrad/tensor";

const name = process.env.EQUIGRAD_BACKEND;
if (name) setBackend(name);
